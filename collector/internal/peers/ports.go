package peers

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"strconv"
	"syscall"
)

// Ports are drawn at random below Linux's default ephemeral range (32768-60999), so that
// outgoing connections of other tests do not take them between the check and the
// server's bind; the check binds each on 127.0.0.1 and 127.0.0.2. A port that another
// instance takes meanwhile makes the server fail with "Address already in use", and
// StartMail then tries again with new ports.
const portLow, portHigh = 20000, 32700

func pickPorts(n int) ([]int, error) {
	seen := map[int]bool{}
	var out []int
	for tries := 0; len(out) < n; tries++ {
		if tries > 2000 {
			return nil, fmt.Errorf("no %d free ports in %d-%d", n, portLow, portHigh)
		}
		p := portLow + rand.IntN(portHigh-portLow)
		if seen[p] {
			continue
		}
		seen[p] = true
		if portFree(p) {
			out = append(out, p)
		}
	}
	return out, nil
}

func portFree(p int) bool {
	for _, host := range []string{"127.0.0.1", "127.0.0.2"} {
		ln, err := net.Listen("tcp4", net.JoinHostPort(host, strconv.Itoa(p)))
		if err != nil {
			return false
		}
		ln.Close()
	}
	// On ::1 too (WithIPv6), where the machine has it.
	ln, err := net.Listen("tcp6", net.JoinHostPort("::1", strconv.Itoa(p)))
	if err == nil {
		ln.Close()
	}
	return err == nil || errors.Is(err, syscall.EADDRNOTAVAIL) || errors.Is(err, syscall.EAFNOSUPPORT)
}
