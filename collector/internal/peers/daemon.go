package peers

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
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

// groupStates lists the processes of process group pgid, one per line: PID, name,
// state and the kernel function it sleeps in (/proc/PID/wchan), to tell a server that
// hangs from one that never got the connection.
func groupStates(pgid int) string {
	var b strings.Builder
	dirs, _ := filepath.Glob("/proc/[0-9]*")
	for _, d := range dirs {
		stat, err := os.ReadFile(d + "/stat")
		if err != nil {
			continue
		}
		// pid (comm) state ppid pgrp ...; comm may hold spaces and parentheses.
		s := string(stat)
		i, j := strings.IndexByte(s, '('), strings.LastIndexByte(s, ')')
		if i < 0 || j < i {
			continue
		}
		f := strings.Fields(s[j+1:])
		if len(f) < 3 || f[2] != strconv.Itoa(pgid) {
			continue
		}
		wchan, _ := os.ReadFile(d + "/wchan")
		fmt.Fprintf(&b, "%s %s %s %s\n", filepath.Base(d), s[i+1:j], f[0], wchan)
	}
	return b.String()
}
