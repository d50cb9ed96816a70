package peers

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"time"
)

// Milter protocol (libmilter's, version 6) commands and replies used by milterHello.
// Every packet is a 4-byte big-endian length, a command byte and its data.
const (
	milterOptNeg   = 'O' // SMFIC_OPTNEG: version, actions, protocol steps
	milterConnect  = 'C' // SMFIC_CONNECT: host NUL, family, port, address NUL
	milterQuit     = 'Q' // SMFIC_QUIT
	milterContinue = 'c' // SMFIR_CONTINUE
	milterAllActs  = 0x1ff
	milterVersion  = 6
)

// milterHello opens one milter session on the UNIX socket sock as an MTA would,
// negotiates, and reports a client connection from 127.0.0.1; it returns nil once
// the milter answers "continue". It is the start-up check for OpenDKIM: a bare
// connect() is accepted by the kernel before the milter is ready, and OpenDKIM sets
// up its resolver on the first SMFIC_CONNECT without a lock (dkim_dns_init), so two
// first connections at once can leave the resolver without its configuration and
// every later message tempfailed. One hello, alone, does that set-up safely.
func milterHello(sock string, timeout time.Duration) error {
	c, err := net.DialTimeout("unix", sock, timeout)
	if err != nil {
		return err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(timeout))
	var neg [12]byte
	binary.BigEndian.PutUint32(neg[0:], milterVersion)
	binary.BigEndian.PutUint32(neg[4:], milterAllActs)
	// No protocol step may be skipped and no reply left out: the milter answers
	// SMFIC_CONNECT.
	binary.BigEndian.PutUint32(neg[8:], 0)
	if err := writeMilter(c, milterOptNeg, neg[:]); err != nil {
		return err
	}
	if cmd, data, err := readMilter(c); err != nil {
		return fmt.Errorf("negotiation: %w", err)
	} else if cmd != milterOptNeg {
		return fmt.Errorf("negotiation answered %q (%q)", cmd, data)
	}
	var conn bytes.Buffer
	conn.WriteString("localhost\x00")
	conn.WriteByte('4')
	_ = binary.Write(&conn, binary.BigEndian, uint16(25))
	conn.WriteString("127.0.0.1\x00")
	if err := writeMilter(c, milterConnect, conn.Bytes()); err != nil {
		return err
	}
	cmd, data, err := readMilter(c)
	if err != nil {
		return fmt.Errorf("connect: %w", err)
	}
	_ = writeMilter(c, milterQuit, nil)
	if cmd != milterContinue {
		return fmt.Errorf("connect answered %q (%q), not continue", cmd, data)
	}
	return nil
}

func writeMilter(w io.Writer, cmd byte, data []byte) error {
	p := make([]byte, 5+len(data))
	binary.BigEndian.PutUint32(p, uint32(1+len(data)))
	p[4] = cmd
	copy(p[5:], data)
	_, err := w.Write(p)
	return err
}

// readMilter reads one packet; replies larger than 64 KiB are refused.
func readMilter(r io.Reader) (byte, []byte, error) {
	var hdr [4]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		return 0, nil, err
	}
	n := binary.BigEndian.Uint32(hdr[:])
	if n == 0 || n > 64<<10 {
		return 0, nil, fmt.Errorf("packet length %d", n)
	}
	p := make([]byte, n)
	if _, err := io.ReadFull(r, p); err != nil {
		return 0, nil, err
	}
	return p[0], p[1:], nil
}
