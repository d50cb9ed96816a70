// Package starttls dials an SMTP server, says EHLO, issues STARTTLS
// (RFC 3207) and completes a TLS handshake without verifying the certificate,
// so that the caller can judge it (DANE, RFC 7672; MTA-STS, RFC 8461 4.2).
// Reads are bounded in size and everything honours the context's deadline.
package starttls

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"time"
)

// ErrNoSTARTTLS means the server did not offer STARTTLS.
var ErrNoSTARTTLS = errors.New("STARTTLS not offered")

const (
	maxLine        = 1024 // RFC 5321 4.5.3.1.5 says 512; leave room
	maxLines       = 100  // of one multi-line reply
	defaultTimeout = 30 * time.Second
)

// DialFunc opens a TCP connection.
type DialFunc func(ctx context.Context, network, addr string) (net.Conn, error)

// Dial connects to host:port with dial (nil = net.Dialer), runs
// greeting, EHLO and STARTTLS, and returns the TLS state of an unverified
// handshake with SNI set to host. The connection is closed afterwards.
func Dial(ctx context.Context, dial DialFunc, host string, port int, ehlo string) (*tls.ConnectionState, error) {
	if dial == nil {
		dial = (&net.Dialer{}).DialContext
	}
	if ehlo == "" {
		ehlo = "localhost"
	}
	host = strings.TrimSuffix(host, ".")
	conn, err := dial(ctx, "tcp", net.JoinHostPort(host, strconv.Itoa(port)))
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	deadline, ok := ctx.Deadline()
	if !ok {
		deadline = time.Now().Add(defaultTimeout)
	}
	conn.SetDeadline(deadline)
	stop := context.AfterFunc(ctx, func() { conn.SetDeadline(time.Unix(1, 0)) })
	defer stop()

	br := bufio.NewReaderSize(conn, maxLine)
	if _, err := reply(br, 220); err != nil {
		return nil, fmt.Errorf("greeting: %w", err)
	}
	if _, err := fmt.Fprintf(conn, "EHLO %s\r\n", ehlo); err != nil {
		return nil, err
	}
	lines, err := reply(br, 250)
	if err != nil {
		return nil, fmt.Errorf("EHLO: %w", err)
	}
	offered := false
	for _, l := range lines[1:] {
		if strings.EqualFold(strings.TrimSpace(l), "STARTTLS") {
			offered = true
		}
	}
	if !offered {
		return nil, ErrNoSTARTTLS
	}
	if _, err := io.WriteString(conn, "STARTTLS\r\n"); err != nil {
		return nil, err
	}
	if _, err := reply(br, 220); err != nil {
		return nil, fmt.Errorf("STARTTLS: %w", err)
	}
	if br.Buffered() > 0 {
		return nil, errors.New("STARTTLS: data after the 220 reply") // RFC 3207 4.2 (CVE-2011-0411)
	}
	tc := tls.Client(conn, &tls.Config{
		ServerName:         host,
		InsecureSkipVerify: true,             // the caller verifies: DANE and MTA-STS have their own rules
		MinVersion:         tls.VersionTLS10, // old MX hosts still present a certificate worth judging
	})
	if err := tc.HandshakeContext(ctx); err != nil {
		return nil, fmt.Errorf("TLS handshake: %w", err)
	}
	cs := tc.ConnectionState()
	io.WriteString(tc, "QUIT\r\n")
	return &cs, nil
}

// reply reads one (possibly multi-line) reply and checks its code.
func reply(br *bufio.Reader, want int) ([]string, error) {
	var lines []string
	for {
		line, err := br.ReadSlice('\n')
		if err == bufio.ErrBufferFull {
			return nil, errors.New("reply line too long")
		}
		if err != nil {
			return nil, err
		}
		s := strings.TrimRight(string(line), "\r\n")
		if len(s) < 3 {
			return nil, fmt.Errorf("malformed reply %q", s)
		}
		code, err := strconv.Atoi(s[:3])
		if err != nil {
			return nil, fmt.Errorf("malformed reply %q", s)
		}
		if code != want {
			return nil, fmt.Errorf("unexpected reply %q", s)
		}
		text := ""
		if len(s) > 4 {
			text = s[4:]
		}
		lines = append(lines, text)
		if len(s) == 3 || s[3] == ' ' {
			return lines, nil
		}
		if s[3] != '-' {
			return nil, fmt.Errorf("malformed reply %q", s)
		}
		if len(lines) >= maxLines {
			return nil, errors.New("reply too long")
		}
	}
}
