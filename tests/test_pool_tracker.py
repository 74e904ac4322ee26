"""A sweep's driver killed with kill -9 while its pool ran: multiprocessing's resource tracker
then cleaned up the pool's semaphores and printed a warning of them on the user's terminal,
naming the interpreter's own files (``.../multiprocessing/resource_tracker.py:254:
UserWarning: resource_tracker: There appear to be 8 leaked semaphore objects ...``)."""

import signal
import subprocess
import sys
import textwrap


def test_a_killed_drivers_resource_tracker_prints_nothing(tmp_path):
    driver = textwrap.dedent("""\
        import os, signal
        from xbarmem.experiments import pool

        if __name__ == "__main__":
            workers = pool.new(2)
            workers.submit(abs, 1).result()  # (the pool's semaphores are made and in use)
            os.kill(os.getpid(), signal.SIGKILL)
        """)
    script = tmp_path / "driver.py"
    script.write_text(driver)
    # (stderr is read to its end: until the tracker, which shares it, has ended too)
    proc = subprocess.run([sys.executable, str(script)], cwd=tmp_path, timeout=180,
                          capture_output=True, text=True)
    assert proc.returncode == -signal.SIGKILL
    assert "resource_tracker" not in proc.stderr and "leaked" not in proc.stderr, proc.stderr
    assert not proc.stderr.strip(), proc.stderr
