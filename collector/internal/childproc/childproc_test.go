package childproc

import (
	"os/exec"
	"runtime"
	"sync"
	"syscall"
	"testing"
	"time"
)

// endLockedThreads makes the runtime end n OS threads, as code that locks a thread
// and returns does.
func endLockedThreads(n int) {
	var wg sync.WaitGroup
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			runtime.LockOSThread()
		}()
	}
	wg.Wait()
}

// TestThreadEndKillsPlainChild shows the hazard Start avoids: a child forked from
// a thread that then ends receives its death signal although this process lives.
// (The runtime never ends the main thread, so a fork that ran there is retried.)
func TestThreadEndKillsPlainChild(t *testing.T) {
	for attempt := 0; attempt < 10; attempt++ {
		cmd := exec.Command("sleep", "30")
		cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
		type fork struct {
			tid int
			err error
		}
		started := make(chan fork)
		go func() {
			runtime.LockOSThread()
			err := cmd.Start()
			started <- fork{syscall.Gettid(), err}
		}()
		f := <-started
		if f.err != nil {
			t.Fatal(f.err)
		}
		if f.tid == syscall.Getpid() {
			cmd.Process.Kill()
			cmd.Wait()
			continue
		}
		waited := make(chan error, 1)
		go func() { waited <- cmd.Wait() }()
		select {
		case err := <-waited:
			if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); !ok || ws.Signal() != syscall.SIGKILL {
				t.Fatalf("child ended with %v, want SIGKILL", err)
			}
			return
		case <-time.After(10 * time.Second):
			cmd.Process.Kill()
			t.Fatal("child forked from an ended thread still runs after 10s")
		}
	}
	t.Fatal("every fork ran on the main thread")
}

// TestStartedChildOutlivesThreads: ending many threads (one may be the one that
// would have forked an ordinary child) leaves a Start child running.
func TestStartedChildOutlivesThreads(t *testing.T) {
	c, err := Start(exec.Command("sleep", "30"), syscall.SIGKILL)
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		c.Cmd.Process.Kill()
		<-c.Done
	}()
	endLockedThreads(64)
	select {
	case <-c.Done:
		t.Fatalf("child died: %v", c.Err())
	case <-time.After(200 * time.Millisecond):
	}
	if err := syscall.Kill(c.Cmd.Process.Pid, 0); err != nil {
		t.Fatalf("child gone: %v", err)
	}
}

func TestStartKeepsAttrsAndReportsExit(t *testing.T) {
	cmd := exec.Command("sh", "-c", "exit 3")
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	c, err := Start(cmd, syscall.SIGTERM)
	if err != nil {
		t.Fatal(err)
	}
	<-c.Done
	if !c.Exited() || !cmd.SysProcAttr.Setpgid || cmd.SysProcAttr.Pdeathsig != syscall.SIGTERM {
		t.Fatalf("exited %v attrs %+v", c.Exited(), cmd.SysProcAttr)
	}
	if ee, ok := c.Err().(*exec.ExitError); !ok || ee.ExitCode() != 3 {
		t.Fatalf("Err() = %v, want exit status 3", c.Err())
	}
}

func TestStartMissingBinary(t *testing.T) {
	if _, err := Start(exec.Command("/nonexistent/binary"), syscall.SIGKILL); err == nil {
		t.Fatal("no error for a missing binary")
	}
}
