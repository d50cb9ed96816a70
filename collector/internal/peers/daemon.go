package peers

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"syscall"
	"time"

	"github.com/mail-exporter/mail_exporter/collector/internal/childproc"
)

// daemon is a server process started by this package, in its own session (so its
// children share its process group) and signalled if the test binary dies.
type daemon struct {
	name  string
	cmd   *exec.Cmd
	child *childproc.Child
	done  <-chan struct{} // child.Done
}

func daemonEnv() []string {
	return []string{"PATH=/usr/sbin:/usr/bin:/sbin:/bin", "LANG=C", "LC_ALL=C"}
}

func startDaemon(name, stderrFile, bin string, args ...string) (*daemon, error) {
	out, err := os.OpenFile(stderrFile, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, err
	}
	defer out.Close() // the child has its own copy
	cmd := exec.Command(bin, args...)
	cmd.Env = daemonEnv()
	cmd.Dir = "/"
	cmd.Stdin = nil
	cmd.Stdout = out
	cmd.Stderr = out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	c, err := childproc.Start(cmd, syscall.SIGTERM)
	if err != nil {
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	d := &daemon{name: name, cmd: cmd, child: c, done: c.Done}
	return d, nil
}

func (d *daemon) exited() bool { return d.child.Exited() }

// stop sends SIGTERM, waits up to grace, then SIGKILLs the process group; it always
// waits for the process and SIGKILLs what is left of its group afterwards.
func (d *daemon) stop(grace time.Duration) error {
	pid := d.cmd.Process.Pid
	var errs []error
	if !d.exited() {
		_ = d.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-d.done:
		case <-time.After(grace):
			errs = append(errs, fmt.Errorf("%s (pid %d) still running %v after SIGTERM; killed", d.name, pid, grace))
			_ = syscall.Kill(-pid, syscall.SIGKILL)
			<-d.done
		}
	}
	// Children normally leave with their master; do not let stragglers write into a
	// folder that is being removed. The group holds only processes started here.
	if err := syscall.Kill(-pid, syscall.SIGKILL); err != nil && !errors.Is(err, syscall.ESRCH) {
		errs = append(errs, fmt.Errorf("kill %s group %d: %w", d.name, pid, err))
	}
	return errors.Join(errs...)
}
