// Package childproc starts a helper process (a test's mail or DNS server) that the
// kernel signals when this process dies, and only then.
//
// PR_SET_PDEATHSIG (SysProcAttr.Pdeathsig) fires when the thread that forked the
// child ends, not the process (prctl(2), go.dev/issue/27505). The Go runtime ends an
// OS thread when a goroutine locked to it returns, and any goroutine may run on the
// thread that forked an earlier child: a child started from an ordinary goroutine can
// be killed at any moment by unrelated code that locks and leaves a thread. Start
// forks from a goroutine locked to its thread for the child's whole life.
package childproc

import (
	"fmt"
	"os/exec"
	"runtime"
	"syscall"
)

// Child is a started process. Done is closed once it has exited and been waited for.
type Child struct {
	Cmd  *exec.Cmd
	Done <-chan struct{}
	err  error
}

// Err is cmd.Wait's result; valid after Done is closed.
func (c *Child) Err() error { return c.err }

// Exited reports whether the process has exited.
func (c *Child) Exited() bool {
	select {
	case <-c.Done:
		return true
	default:
		return false
	}
}

// Start starts cmd with sig as its parent-death signal, keeping any other
// SysProcAttr fields the caller set.
func Start(cmd *exec.Cmd, sig syscall.Signal) (*Child, error) {
	if cmd.SysProcAttr == nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{}
	}
	cmd.SysProcAttr.Pdeathsig = sig
	done := make(chan struct{})
	c := &Child{Cmd: cmd, Done: done}
	started := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		// Never unlocked: the thread ends with this goroutine, after the child.
		if err := cmd.Start(); err != nil {
			started <- err
			return
		}
		started <- nil
		c.err = cmd.Wait()
		close(done)
	}()
	if err := <-started; err != nil {
		return nil, fmt.Errorf("start %s: %w", cmd.Path, err)
	}
	return c, nil
}
