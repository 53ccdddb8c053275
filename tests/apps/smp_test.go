package apps

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"
)

// Parallel programs on 1, 2 and 4 vCPUs (4 oversubscribes a 2-core host):
// the output must equal the native run's, with exact totals.
func TestSMPPrograms(t *testing.T) {
	for _, prog := range []string{"hammer-glibc", "hammer-musl", "goparallel"} {
		path := filepath.Join(binDir, prog)
		want := native(t, "/", path, "/"+prog)
		if want.status != 0 {
			t.Fatalf("%s fails natively: %d\n%s", prog, want.status, want.stdout)
		}
		for _, cpus := range []int{1, 2, 4} {
			t.Run(fmt.Sprintf("%s/c%d", prog, cpus), func(t *testing.T) {
				got := guest(t, []string{"-c", fmt.Sprint(cpus)}, path)
				if got.stdout != want.stdout || got.status != 0 {
					t.Errorf("native:\n%s\ngosv -c %d (status %d):\n%s\n%s", want.stdout, cpus, got.status, got.stdout, got.stderr)
				}
			})
		}
	}
}

// A thread reading a page that another thread unmaps gets SIGSEGV; it
// never reads stale data after munmap returned (TLB shootdown).
func TestMunmapWhileReading(t *testing.T) {
	for _, prog := range []string{"unmapread-glibc", "unmapread-musl"} {
		for _, cpus := range []int{1, 2, 4} {
			t.Run(fmt.Sprintf("%s/c%d", prog, cpus), func(t *testing.T) {
				got := guest(t, []string{"-c", fmt.Sprint(cpus)}, filepath.Join(binDir, prog))
				if got.status != 139 || strings.Contains(got.stdout, "stale") || !strings.Contains(got.stderr, "SIGSEGV") {
					t.Errorf("status %d, want 139 (SIGSEGV)\nstdout:\n%s\nstderr:\n%s", got.status, got.stdout, got.stderr)
				}
			})
		}
	}
}
