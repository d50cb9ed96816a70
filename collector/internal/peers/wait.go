package peers

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"sort"
	"strings"
	"sync"
	"time"
)

// portKind says how to greet each key of Mail.Ports.
var portKind = map[string]struct {
	proto    string // smtp, lmtp, imap, pop3
	implicit bool   // TLS from the first byte
}{
	"smtp":        {"smtp", false},
	"submission":  {"smtp", false},
	"submissions": {"smtp", true},
	"imap":        {"imap", false},
	"imaps":       {"imap", true},
	"pop3":        {"pop3", false},
	"pop3s":       {"pop3", true},
	"lmtp":        {"lmtp", false},
}

// waitReady polls every port until it accepts a connection and sends its greeting (after
// the TLS handshake on implicit-TLS ports). It fails early when a server exits.
func (m *Mail) waitReady(ctx context.Context) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		mu      sync.Mutex
		lastErr = map[string]error{}
		wg      sync.WaitGroup
	)
	for name, port := range m.Ports {
		addr := net.JoinHostPort(m.Host, fmt.Sprint(port))
		mu.Lock()
		lastErr[name] = errors.New("not tried")
		mu.Unlock()
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				err := greet(ctx, addr, name)
				mu.Lock()
				if err == nil {
					delete(lastErr, name)
				} else {
					lastErr[name] = err
				}
				mu.Unlock()
				if err == nil {
					return
				}
				select {
				case <-ctx.Done():
					return
				case <-time.After(50 * time.Millisecond):
				}
			}
		}()
	}
	allDone := make(chan struct{})
	go func() { wg.Wait(); close(allDone) }()

	var failure error
	select {
	case <-allDone:
	case <-m.dovecot.done:
		failure = fmt.Errorf("dovecot exited during start-up: %v", m.dovecot.child.Err())
	case <-m.postfix.done:
		failure = fmt.Errorf("postfix master exited during start-up: %v", m.postfix.child.Err())
	case <-ctx.Done():
		failure = ctx.Err()
	}
	cancel()
	<-allDone
	mu.Lock()
	defer mu.Unlock()
	if failure == nil && len(lastErr) == 0 {
		return nil
	}
	var pending []string
	for name, err := range lastErr {
		pending = append(pending, fmt.Sprintf("%s (%d): %v", name, m.Ports[name], err))
	}
	sort.Strings(pending)
	if failure == nil {
		failure = errors.New("not ready")
	}
	return fmt.Errorf("%w; ports not ready: %s", failure, strings.Join(pending, "; "))
}

// greet makes one connection: TLS first on implicit ports, reads the whole greeting and
// says goodbye.
func greet(ctx context.Context, addr, name string) error {
	kind := portKind[name]
	d := net.Dialer{Timeout: 2 * time.Second}
	conn, err := d.DialContext(ctx, "tcp4", addr)
	if err != nil {
		return err
	}
	defer conn.Close()
	// Give up at once when start-up is abandoned, not after the read deadline.
	defer context.AfterFunc(ctx, func() { conn.Close() })()
	_ = conn.SetDeadline(time.Now().Add(3 * time.Second))
	if kind.implicit {
		// Readiness only: the caller may serve an expired or foreign certificate.
		tc := tls.Client(conn, &tls.Config{InsecureSkipVerify: true}) //nolint:gosec // readiness probe
		if err := tc.HandshakeContext(ctx); err != nil {
			return fmt.Errorf("TLS handshake: %w", err)
		}
		conn = tc
	}
	r := bufio.NewReader(conn)
	line, err := ReadGreeting(r, kind.proto)
	if err != nil {
		return err
	}
	_ = line
	quit := "QUIT\r\n"
	if kind.proto == "imap" {
		quit = "a LOGOUT\r\n"
	}
	_, _ = conn.Write([]byte(quit))
	return nil
}

// ReadGreeting reads a server greeting: for "smtp" and "lmtp" every line of a 220 reply,
// for "imap" an "* OK" line, for "pop3" a "+OK" line. It returns the last line read.
func ReadGreeting(r *bufio.Reader, proto string) (string, error) {
	switch proto {
	case "smtp", "lmtp":
		lines, err := ReadSMTPReply(r)
		last := ""
		if len(lines) > 0 {
			last = lines[len(lines)-1]
		}
		if err != nil {
			return last, err
		}
		if !strings.HasPrefix(last, "220") {
			return last, fmt.Errorf("greeting %q is not 220", last)
		}
		return last, nil
	case "imap", "pop3":
		line, err := readLine(r)
		if err != nil {
			return line, err
		}
		want := "* OK"
		if proto == "pop3" {
			want = "+OK"
		}
		if !strings.HasPrefix(line, want) {
			return line, fmt.Errorf("greeting %q does not start with %q", line, want)
		}
		return line, nil
	}
	return "", fmt.Errorf("unknown protocol %q", proto)
}

// ReadSMTPReply reads one (possibly multi-line) SMTP/LMTP reply and returns its lines
// without CRLF.
func ReadSMTPReply(r *bufio.Reader) ([]string, error) {
	var lines []string
	for {
		line, err := readLine(r)
		if err != nil {
			return lines, err
		}
		lines = append(lines, line)
		if len(line) < 4 {
			return lines, fmt.Errorf("short SMTP reply line %q", line)
		}
		if line[3] == ' ' {
			return lines, nil
		}
		if line[3] != '-' {
			return lines, fmt.Errorf("malformed SMTP reply line %q", line)
		}
		if len(lines) > 100 {
			return lines, errors.New("SMTP reply longer than 100 lines")
		}
	}
}

func readLine(r *bufio.Reader) (string, error) {
	line, err := r.ReadString('\n')
	if err != nil {
		return strings.TrimRight(line, "\r\n"), err
	}
	return strings.TrimRight(line, "\r\n"), nil
}
