package resolver

import (
	"context"
	"errors"
	"net"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/miekg/dns"
)

// hostileDNS serves udp and tcp on one loopback port with the given
// behaviours, until the test ends.
func hostileDNS(t *testing.T, udp func(pc net.PacketConn, addr net.Addr, q []byte), tcp func(c net.Conn)) string {
	t.Helper()
	// UDP and TCP on one port: retry when the TCP side of a free UDP port
	// is taken, rather than skip (a skipped hostile case proves nothing).
	var pc net.PacketConn
	var l net.Listener
	for i := 0; ; i++ {
		var err error
		if pc, err = net.ListenPacket("udp", "127.0.0.1:0"); err != nil {
			t.Fatal(err)
		}
		if l, err = net.Listen("tcp", pc.LocalAddr().String()); err == nil {
			break
		}
		pc.Close()
		if i == 20 {
			t.Fatalf("no port free for both udp and tcp: %v", err)
		}
	}
	var wg sync.WaitGroup
	wg.Go(func() {
		buf := make([]byte, 4096)
		for {
			n, addr, err := pc.ReadFrom(buf)
			if err != nil {
				return
			}
			udp(pc, addr, append([]byte(nil), buf[:n]...))
		}
	})
	var conns sync.WaitGroup
	wg.Go(func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			conns.Go(func() { defer c.Close(); tcp(c) })
		}
	})
	t.Cleanup(func() { pc.Close(); l.Close(); wg.Wait(); conns.Wait() })
	return pc.LocalAddr().String()
}

func ignoreUDP(net.PacketConn, net.Addr, []byte) {}

// drain holds a TCP connection open, reading and never answering, until
// the client gives up.
func drain(c net.Conn) {
	buf := make([]byte, 512)
	for {
		if _, err := c.Read(buf); err != nil {
			return
		}
	}
}

func TestHostileResolvers(t *testing.T) {
	cases := []struct {
		name string
		udp  func(net.PacketConn, net.Addr, []byte)
		tcp  func(net.Conn)
	}{
		{"never answers", ignoreUDP, drain},
		{"truncated UDP then a slow TCP", func(pc net.PacketConn, addr net.Addr, q []byte) {
			m := new(dns.Msg)
			if m.Unpack(q) != nil {
				return
			}
			r := new(dns.Msg)
			r.SetReply(m)
			r.Truncated = true
			b, _ := r.Pack()
			pc.WriteTo(b, addr)
		}, drain},
		{"returns garbage", func(pc net.PacketConn, addr net.Addr, q []byte) {
			pc.WriteTo(append(q[:2:2], []byte("\x81\x80garbage that is not a DNS message at all")...), addr)
		}, func(c net.Conn) { c.Write([]byte("\x00\x05junk!")) }},
		{"answers another question", func(pc net.PacketConn, addr net.Addr, q []byte) {
			m := new(dns.Msg)
			if m.Unpack(q) != nil {
				return
			}
			r := new(dns.Msg)
			r.SetQuestion("evil.test.", dns.TypeA)
			r.Id, r.Response = m.Id, true
			b, _ := r.Pack()
			pc.WriteTo(b, addr)
		}, drain},
	}
	const timeout = 1500 * time.Millisecond
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := &Client{Server: hostileDNS(t, tc.udp, tc.tcp)}
			var before, after runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&before)
			ctx, cancel := context.WithTimeout(context.Background(), timeout)
			defer cancel()
			start := time.Now()
			_, err := c.Lookup(ctx, "example.test", dns.TypeMX)
			took := time.Since(start)
			runtime.ReadMemStats(&after)
			t.Logf("%-32s took=%-8v allocated=%d KiB err=%v", tc.name, took.Round(time.Millisecond),
				(after.TotalAlloc-before.TotalAlloc)>>10, err)
			if !errors.Is(err, ErrDNS) {
				t.Errorf("error %v is not ErrDNS", err)
			}
			if took > timeout+250*time.Millisecond {
				t.Errorf("lookup took %v, deadline %v", took, timeout)
			}
			if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 4<<20 {
				t.Errorf("lookup allocated %d bytes", alloc)
			}
		})
	}
}
