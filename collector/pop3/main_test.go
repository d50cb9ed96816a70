package pop3

import (
	"testing"

	"go.uber.org/goleak"
)

// The client must never start goroutines, and the fake server's must all
// have finished when each test's cleanup returns.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
