package peers

import (
	"bufio"
	"bytes"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"
)

// ServerConns counts the established TCP connections whose local end is one of the
// servers' listening addresses ("127.0.0.2:993"), as the kernel sees them: the server's
// side of each connection, read from /proc/net/tcp, not the client's own count.
func ServerConns(listeners ...string) (int, error) {
	want := map[netip.AddrPort]bool{}
	for _, l := range listeners {
		ap, err := netip.ParseAddrPort(l)
		if err != nil {
			return 0, fmt.Errorf("peers: listener %q: %w", l, err)
		}
		want[ap] = true
	}
	// One read() into a large buffer: the kernel writes the table in one go, so a
	// connection that closes while a new one opens is not seen twice, as it can be
	// across the 4 KiB reads of a line scanner.
	f, err := os.Open("/proc/net/tcp")
	if err != nil {
		return 0, err
	}
	defer f.Close()
	buf := make([]byte, 4<<20)
	m, err := io.ReadFull(f, buf)
	if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, io.EOF) {
		return 0, err
	}
	n := 0
	sc := bufio.NewScanner(bytes.NewReader(buf[:m]))
	sc.Scan() // header
	for sc.Scan() {
		// sl local_address rem_address st ...; addresses are hex, IPv4 little-endian.
		fs := strings.Fields(sc.Text())
		if len(fs) < 4 || fs[3] != "01" { // TCP_ESTABLISHED
			continue
		}
		if ap, ok := parseProcAddr(fs[1]); ok && want[ap] {
			n++
		}
	}
	return n, sc.Err()
}

func parseProcAddr(s string) (netip.AddrPort, bool) {
	ip, port, ok := strings.Cut(s, ":")
	b, err := hex.DecodeString(ip)
	if !ok || err != nil || len(b) != 4 {
		return netip.AddrPort{}, false
	}
	p, err := strconv.ParseUint(port, 16, 16)
	if err != nil {
		return netip.AddrPort{}, false
	}
	return netip.AddrPortFrom(netip.AddrFrom4([4]byte{b[3], b[2], b[1], b[0]}), uint16(p)), true
}

// ConnSampler samples ServerConns every millisecond or so until Stop, and keeps the peak.
type ConnSampler struct {
	listeners []string
	stop      chan struct{}
	done      sync.WaitGroup
	mu        sync.Mutex
	peak      int
	sustained int      // the most seen in every sample for SustainFor
	recent    []sample // the samples of the last SustainFor
	samples   int
	sum       int
	nonzero   int
	err       error
}

// SampleConns starts sampling the connections to listeners.
func SampleConns(listeners ...string) *ConnSampler {
	s := &ConnSampler{listeners: listeners, stop: make(chan struct{})}
	s.done.Add(1)
	go func() {
		defer s.done.Done()
		for {
			n, err := ServerConns(s.listeners...)
			s.mu.Lock()
			s.samples++
			s.sum += n
			if n > 0 {
				s.nonzero++
			}
			s.peak = max(s.peak, n)
			s.sustain(sample{time.Now(), n})
			if err != nil && s.err == nil {
				s.err = err
			}
			s.mu.Unlock()
			select {
			case <-s.stop:
				return
			case <-time.After(time.Millisecond):
			}
		}
	}()
	return s
}

// SustainFor is how long a level of connections must hold, in every sample, to count
// as Sustained. A connection's end can trail its probe's return by a moment, longer
// on a loaded machine; a real breach of a limit lasts a whole probe, tens of
// milliseconds at least.
const SustainFor = 20 * time.Millisecond

type sample struct {
	at time.Time
	n  int
}

// sustain records x and raises sustained to the least level seen over a window of at
// least SustainFor that ends with x. Callers hold mu.
func (s *ConnSampler) sustain(x sample) {
	s.recent = append(s.recent, x)
	for len(s.recent) > 1 && x.at.Sub(s.recent[1].at) >= SustainFor {
		s.recent = s.recent[1:]
	}
	if x.at.Sub(s.recent[0].at) < SustainFor {
		return
	}
	least := x.n
	for _, r := range s.recent {
		least = min(least, r.n)
	}
	s.sustained = max(s.sustained, least)
}

// ConnStats are what a ConnSampler saw.
type ConnStats struct {
	// Peak is the most connections in one sample; Sustained the most seen in every
	// sample for SustainFor. A breach of a limit lasts as long as a probe's connection; a
	// connection's end, though, can trail the probe's return by a moment (measured: with
	// at most 2 probes in progress per address in the exporter, 1-ms samples of the
	// kernel's table saw a third established socket in a few per cent of them, gone by the
	// next sample), which Peak counts and Sustained does not.
	Peak, Sustained int
	Samples, Busy   int     // samples taken, samples that saw a connection
	Mean            float64 // connections per sample
}

// Stop ends the sampling and returns what it saw, and the first error.
func (s *ConnSampler) Stop() (ConnStats, error) {
	close(s.stop)
	s.done.Wait()
	st := ConnStats{Peak: s.peak, Sustained: s.sustained, Samples: s.samples, Busy: s.nonzero}
	if s.samples > 0 {
		st.Mean = float64(s.sum) / float64(s.samples)
	}
	return st, s.err
}
