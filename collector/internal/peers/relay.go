package peers

import (
	"errors"
	"io"
	"net"
	"sync"
	"time"
)

// tcpRelay forwards connections from listen to target; Stop refuses new connections and
// cuts the open ones, Start listens again on the same address.
type tcpRelay struct {
	listen, target string

	mu    sync.Mutex
	ln    net.Listener
	conns map[net.Conn]struct{}
	wg    sync.WaitGroup
}

func newTCPRelay(listen, target string) (*tcpRelay, error) {
	r := &tcpRelay{listen: listen, target: target, conns: map[net.Conn]struct{}{}}
	return r, r.Start()
}

// Start listens (again); it is a no-op while listening.
func (r *tcpRelay) Start() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.ln != nil {
		return nil
	}
	ln, err := net.Listen("tcp4", r.listen)
	if err != nil {
		return err
	}
	r.ln = ln
	r.wg.Add(1)
	go r.accept(ln)
	return nil
}

// Stop closes the listener and every forwarded connection and waits for its goroutines.
func (r *tcpRelay) Stop() error {
	r.mu.Lock()
	var err error
	if r.ln != nil {
		err = r.ln.Close()
		r.ln = nil
	}
	for c := range r.conns {
		c.Close()
	}
	r.mu.Unlock()
	r.wg.Wait()
	return err
}

func (r *tcpRelay) track(c net.Conn) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.ln == nil {
		return false
	}
	r.conns[c] = struct{}{}
	return true
}

func (r *tcpRelay) untrack(c net.Conn) {
	r.mu.Lock()
	delete(r.conns, c)
	r.mu.Unlock()
	c.Close()
}

func (r *tcpRelay) accept(ln net.Listener) {
	defer r.wg.Done()
	for {
		c, err := ln.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			time.Sleep(10 * time.Millisecond)
			continue
		}
		if !r.track(c) {
			c.Close()
			return
		}
		r.wg.Add(1)
		go r.serve(c)
	}
}

func (r *tcpRelay) serve(c net.Conn) {
	defer r.wg.Done()
	defer r.untrack(c)
	up, err := net.DialTimeout("tcp4", r.target, 5*time.Second)
	if err != nil {
		return
	}
	if !r.track(up) {
		up.Close()
		return
	}
	defer r.untrack(up)
	done := make(chan struct{}, 2)
	pipe := func(dst, src net.Conn) {
		_, _ = io.Copy(dst, src)
		if tc, ok := dst.(*net.TCPConn); ok {
			_ = tc.CloseWrite()
		}
		done <- struct{}{}
	}
	r.wg.Add(1)
	go func() { defer r.wg.Done(); pipe(up, c) }()
	pipe(c, up)
	<-done
}
