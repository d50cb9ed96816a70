package probe

import (
	"testing"

	"go.uber.org/goleak"
)

// No goroutine may outlive a probe or a test server.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }
