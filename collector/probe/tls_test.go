package probe

import (
	"crypto/tls"
	"testing"
)

// TestCipherSuiteName: the table gives what crypto/tls names every suite,
// insecure ones and unknown IDs included.
func TestCipherSuiteName(t *testing.T) {
	var ids []uint16
	for _, c := range append(tls.CipherSuites(), tls.InsecureCipherSuites()...) {
		ids = append(ids, c.ID)
	}
	ids = append(ids, 0x0000, 0xfefe)
	for _, id := range ids {
		if got, want := cipherSuiteName(id), tls.CipherSuiteName(id); got != want {
			t.Errorf("%#04x: %q, want %q", id, got, want)
		}
	}
}
