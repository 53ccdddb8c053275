package selftest

import (
	"strings"
	"testing"
)

// The suite passes on the host Linux, the reference the VM is held to.
func TestSuiteOnHost(t *testing.T) {
	var b strings.Builder
	if n := Run(&b); n != 0 {
		t.Fatalf("%d checks failed on the host:\n%s", n, b.String())
	}
	if !strings.Contains(b.String(), "11 of 11 checks passed") {
		t.Errorf("summary missing:\n%s", b.String())
	}
}
