package starttls

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/mail-exporter/mail_exporter/collector/dnscheck/internal/fakesmtp"
	"github.com/mail-exporter/mail_exporter/collector/dnscheck/internal/testpki"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestDial(t *testing.T) {
	ca := testpki.NewCA(t)
	cert := ca.Leaf(t, time.Time{}, time.Time{}, "mx.ex.test")
	srv := fakesmtp.Start(t, fakesmtp.Options{Cert: cert, Greeting: "220-first\r\n220 second"})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	cs, err := Dial(ctx, nil, "127.0.0.1", srv.Port, "probe.test")
	if err != nil {
		t.Fatal(err)
	}
	if len(cs.PeerCertificates) == 0 || !cs.PeerCertificates[0].Equal(cert.Leaf) {
		t.Fatalf("wrong certificate")
	}
}

func TestDialNoSTARTTLS(t *testing.T) {
	srv := fakesmtp.Start(t, fakesmtp.Options{NoSTARTTLS: true})
	_, err := Dial(context.Background(), nil, "127.0.0.1", srv.Port, "")
	if !errors.Is(err, ErrNoSTARTTLS) {
		t.Fatalf("err %v, want ErrNoSTARTTLS", err)
	}
}

func TestDialDeadline(t *testing.T) {
	srv := fakesmtp.Start(t, fakesmtp.Options{Stall: 3 * time.Second})
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	if _, err := Dial(ctx, nil, "127.0.0.1", srv.Port, ""); err == nil {
		t.Fatal("no error")
	}
	if d := time.Since(start); d > time.Second {
		t.Fatalf("took %v past a 200ms deadline", d)
	}
}

// badServer answers each connection with script and closes.
func badServer(t *testing.T, script string) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			fmt.Fprint(c, script)
			bufio.NewReader(c).ReadString('\n')
			c.Close()
		}
	}()
	t.Cleanup(func() { ln.Close(); <-done })
	return ln.Addr().(*net.TCPAddr).Port
}

func TestDialBadServers(t *testing.T) {
	long := make([]byte, 5000)
	for i := range long {
		long[i] = 'x'
	}
	for name, script := range map[string]string{
		"not smtp":  "HTTP/1.1 400 Bad Request\r\n",
		"554":       "554 go away\r\n",
		"long line": "220 " + string(long) + "\r\n",
		"bad code":  "2x0 hello\r\n",
		"bad sep":   "220?hello\r\n",
	} {
		port := badServer(t, script)
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		_, err := Dial(ctx, nil, "127.0.0.1", port, "")
		cancel()
		if err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}
