// Package fakesmtp is a tiny in-process SMTP server for tests: greeting,
// EHLO, STARTTLS with a given certificate, QUIT. It is enough to fetch the
// certificate an MX host presents; it delivers nothing.
package fakesmtp

import (
	"bufio"
	"crypto/tls"
	"fmt"
	"net"
	"strings"
	"sync"
	"testing"
	"time"
)

// Options shape the server's behaviour.
type Options struct {
	Cert       tls.Certificate
	NoSTARTTLS bool          // do not offer STARTTLS
	Greeting   string        // default "220 fake ESMTP"
	Stall      time.Duration // wait this long before the greeting
}

// Server is a running fake SMTP server.
type Server struct {
	Port  int
	opt   Options
	lns   []net.Listener
	wg    sync.WaitGroup
	mu    sync.Mutex
	conns map[net.Conn]bool
	done  chan struct{}
	once  sync.Once
}

// Start listens on the same port at each IP (default 127.0.0.1) and stops at
// cleanup.
func Start(t testing.TB, opt Options, ips ...string) *Server {
	t.Helper()
	if len(ips) == 0 {
		ips = []string{"127.0.0.1"}
	}
	s := &Server{opt: opt, conns: map[net.Conn]bool{}, done: make(chan struct{})}
	for attempt := 0; ; attempt++ {
		err := s.listen(ips)
		if err == nil {
			break
		}
		s.closeListeners()
		if attempt == 20 {
			t.Fatalf("fakesmtp: %v", err)
		}
	}
	t.Cleanup(s.Close)
	return s
}

func (s *Server) listen(ips []string) error {
	s.lns = nil
	port := 0
	for _, ip := range ips {
		ln, err := net.Listen("tcp", net.JoinHostPort(ip, fmt.Sprint(port)))
		if err != nil {
			return err
		}
		port = ln.Addr().(*net.TCPAddr).Port
		s.lns = append(s.lns, ln)
	}
	s.Port = port
	for _, ln := range s.lns {
		s.wg.Add(1)
		go s.accept(ln)
	}
	return nil
}

func (s *Server) closeListeners() {
	for _, ln := range s.lns {
		ln.Close()
	}
}

// Close stops the server and waits for its goroutines.
func (s *Server) Close() {
	s.once.Do(func() { close(s.done) })
	s.closeListeners()
	s.mu.Lock()
	for c := range s.conns {
		c.Close()
	}
	s.mu.Unlock()
	s.wg.Wait()
}

func (s *Server) accept(ln net.Listener) {
	defer s.wg.Done()
	for {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		s.mu.Lock()
		s.conns[c] = true
		s.mu.Unlock()
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			s.serve(c)
			s.mu.Lock()
			delete(s.conns, c)
			s.mu.Unlock()
		}()
	}
}

func (s *Server) serve(c net.Conn) {
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	if s.opt.Stall > 0 {
		select {
		case <-time.After(s.opt.Stall):
		case <-s.done:
			return
		}
	}
	greeting := s.opt.Greeting
	if greeting == "" {
		greeting = "220 fake ESMTP"
	}
	fmt.Fprintf(c, "%s\r\n", greeting)
	r := bufio.NewReader(c)
	var w net.Conn = c
	tlsUp := false
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			return
		}
		cmd := strings.ToUpper(strings.Fields(line + " x")[0])
		switch {
		case cmd == "EHLO":
			ext := "250-fake\r\n250-PIPELINING\r\n"
			if !s.opt.NoSTARTTLS && !tlsUp {
				ext += "250-STARTTLS\r\n"
			}
			fmt.Fprint(w, ext+"250 8BITMIME\r\n")
		case cmd == "STARTTLS" && !s.opt.NoSTARTTLS && !tlsUp:
			fmt.Fprint(w, "220 ready\r\n")
			tc := tls.Server(c, &tls.Config{Certificates: []tls.Certificate{s.opt.Cert}})
			if err := tc.Handshake(); err != nil {
				return
			}
			w, r, tlsUp = tc, bufio.NewReader(tc), true
		case cmd == "QUIT":
			fmt.Fprint(w, "221 bye\r\n")
			return
		default:
			fmt.Fprint(w, "502 not implemented\r\n")
		}
	}
}
