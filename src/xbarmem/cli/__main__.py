from xbarmem.cli import main

main()
