package main

import (
	"bufio"
	"bytes"
	"encoding/hex"
	"io"
	"math/rand/v2"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"
)

// connSampler counts, every so often, the established TCP connections
// whose local end is one of the servers' listeners: the servers' side of
// the connections, as the kernel has them (/proc/net/tcp), not the
// exporter's own count. Mean connections ÷ arrivals per second is how long
// a probe holds a connection at the server (Little's law).
type connSampler struct {
	stopC   chan struct{}
	wg      sync.WaitGroup
	sum     float64
	samples int
	peak    int // the most on one address in one sample
	// the same for the client ends (remote address = a listener): the
	// exporter's sockets. A server end outlives its client end by as long
	// as the kernel takes to process the FIN (softirq, on a busy machine).
	clientPeak int
}

func startConnSampler(listeners, addrs []string, every time.Duration) *connSampler {
	want := map[netip.AddrPort]string{}
	for _, l := range listeners {
		if ap, err := netip.ParseAddrPort(l); err == nil {
			want[ap] = ap.Addr().String()
		}
	}
	s := &connSampler{stopC: make(chan struct{})}
	buf := make([]byte, 8<<20)
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		for {
			per, cli := map[string]int{}, map[string]int{}
			total := 0
			for local, remote := range established(buf) {
				if a, ok := want[local]; ok {
					per[a]++
					total++
				}
				if a, ok := want[remote]; ok {
					cli[a]++
				}
			}
			for _, n := range cli {
				s.clientPeak = max(s.clientPeak, n)
			}
			s.sum += float64(total)
			s.samples++
			for _, n := range per {
				s.peak = max(s.peak, n)
			}
			// At random times: the exporter's runs are on an even grid, and a
			// sampler on a grid of its own can fall into the gaps every time.
			select {
			case <-s.stopC:
				return
			case <-time.After(every/2 + rand.N(every)):
			}
		}
	}()
	return s
}

// stop returns the mean connections in all, the peak on one address, and
// the peak of the client ends on one address.
func (s *connSampler) stop() (float64, int, int) {
	close(s.stopC)
	s.wg.Wait()
	if s.samples == 0 {
		return 0, 0, 0
	}
	return s.sum / float64(s.samples), s.peak, s.clientPeak
}

// established yields the local and remote address of every established
// IPv4 TCP socket, from one read of /proc/net/tcp into buf.
func established(buf []byte) func(func(netip.AddrPort, netip.AddrPort) bool) {
	return func(yield func(netip.AddrPort, netip.AddrPort) bool) {
		f, err := os.Open("/proc/net/tcp")
		if err != nil {
			return
		}
		n, _ := io.ReadFull(f, buf)
		f.Close()
		sc := bufio.NewScanner(bytes.NewReader(buf[:n]))
		sc.Scan()
		for sc.Scan() {
			fs := strings.Fields(sc.Text())
			if len(fs) < 4 || fs[3] != "01" {
				continue
			}
			local, ok1 := procAddr(fs[1])
			remote, ok2 := procAddr(fs[2])
			if !ok1 || !ok2 {
				continue
			}
			if !yield(local, remote) {
				return
			}
		}
	}
}

// procAddr parses /proc/net/tcp's "0100007F:1F90" (IPv4 little-endian, hex port).
func procAddr(s string) (netip.AddrPort, bool) {
	ip, port, ok := strings.Cut(s, ":")
	b, err := hex.DecodeString(ip)
	p, perr := strconv.ParseUint(port, 16, 16)
	if !ok || err != nil || perr != nil || len(b) != 4 {
		return netip.AddrPort{}, false
	}
	return netip.AddrPortFrom(netip.AddrFrom4([4]byte{b[3], b[2], b[1], b[0]}), uint16(p)), true
}
