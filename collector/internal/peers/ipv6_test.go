package peers

import (
	"net"
	"strconv"
	"strings"
	"testing"
	"time"
)

// With WithIPv6 every port answers on ::1 as on 127.0.0.2, and StopListening closes
// one address's listeners while the other keeps serving.
func TestIPv6Listeners(t *testing.T) {
	m := StartMail(t, WithIPv6())
	greet := func(addr, port string) error {
		c, err := net.DialTimeout("tcp", net.JoinHostPort(addr, strconv.Itoa(m.Ports[port])), 5*time.Second)
		if err != nil {
			return err
		}
		defer c.Close()
		_ = c.SetDeadline(time.Now().Add(5 * time.Second))
		if strings.HasSuffix(port, "s") {
			return nil // implicit TLS: the server waits for the handshake
		}
		buf := make([]byte, 64)
		_, err = c.Read(buf)
		return err
	}
	for _, port := range []string{"smtp", "submission", "submissions", "imap", "imaps", "pop3", "pop3s"} {
		for _, addr := range []string{IPv6, m.Host} {
			if err := greet(addr, port); err != nil {
				t.Errorf("%s on %s: %v", port, addr, err)
			}
		}
	}
	if err := m.StopListening(IPv6); err != nil {
		t.Fatal(err)
	}
	for _, port := range []string{"smtp", "imaps", "pop3"} {
		if err := greet(IPv6, port); err == nil {
			t.Errorf("%s still answers on ::1 after StopListening", port)
		}
		if err := greet(m.Host, port); err != nil {
			t.Errorf("%s on %s stopped with ::1: %v", port, m.Host, err)
		}
	}
	if err := m.StartListening(IPv6); err != nil {
		t.Fatal(err)
	}
	if err := greet(IPv6, "imaps"); err != nil {
		t.Errorf("imaps on ::1 after StartListening: %v", err)
	}
	if err := m.StopListening("127.0.0.1"); err == nil {
		t.Error("StopListening(127.0.0.1) accepted: delivery and the tests' clients use it")
	}
}
