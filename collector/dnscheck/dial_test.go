package dnscheck

import (
	"context"
	"net"
	"strconv"
	"testing"
	"time"

	"github.com/mail-exporter/mail_exporter/collector/dnscheck/internal/fakesmtp"
	"github.com/mail-exporter/mail_exporter/collector/dnscheck/internal/testpki"
	"github.com/mail-exporter/mail_exporter/collector/dnscheck/resolver"
)

func TestResolvingDialer(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	port := ln.Addr().(*net.TCPAddr).Port
	dial := ResolvingDialer(resolver.NewMock("host.ex.test. 300 IN A 127.0.0.1"))
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	for _, host := range []string{"host.ex.test", "127.0.0.1"} {
		c, err := dial(ctx, "tcp", net.JoinHostPort(host, strconv.Itoa(port)))
		if err != nil {
			t.Fatalf("%s: %v", host, err)
		}
		c.Close()
	}
	if _, err := dial(ctx, "tcp", "nope.ex.test:25"); err == nil {
		t.Error("dialled a name without address")
	}
	if _, err := ResolvingDialer(panicResolver{})(ctx, "tcp", "host.ex.test:25"); err == nil {
		t.Error("a panicking resolver gave no error")
	}
}

func TestDefaultDialSTARTTLS(t *testing.T) {
	ca := testpki.NewCA(t)
	cert := ca.Leaf(t, time.Time{}, time.Time{}, "mx.ex.test")
	srv := fakesmtp.Start(t, fakesmtp.Options{Cert: cert})
	dial := DefaultDialSTARTTLS(resolver.NewMock("mx.ex.test. 300 IN A 127.0.0.1"), "probe.test")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	cs, err := dial(ctx, "mx.ex.test", srv.Port)
	if err != nil {
		t.Fatal(err)
	}
	if cs.ServerName != "mx.ex.test" || !cs.PeerCertificates[0].Equal(cert.Leaf) {
		t.Errorf("state %+v", cs)
	}
}
