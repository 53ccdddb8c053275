package machine

import "testing"

// profileRecord adds a round trip only when it was a syscall whose
// previous return is known and whose stamps are in order.
func TestProfileRecord(t *testing.T) {
	profSums, profCount = [NumProfParts]uint64{}, 0
	p := &profStamps{}
	// The first syscall: no previous return, nothing recorded.
	p.call, p.kernel, p.enter, p.entry, p.saved = 10, 20, 30, 40, 50
	profileRecord(p, true, 60)
	if profCount != 0 || p.ret != 60 {
		t.Fatalf("first: count %d ret %d", profCount, p.ret)
	}
	p.call, p.kernel, p.enter, p.entry, p.saved = 100, 110, 130, 160, 200
	profileRecord(p, true, 250)
	want := [NumProfParts]uint64{10, 20, 30, 40, 50, 40}
	if profCount != 1 || profSums != want {
		t.Fatalf("count %d sums %v, want 1 %v", profCount, profSums, want)
	}
	// An interrupt (not a syscall) forgets the previous return.
	p.call, p.kernel, p.enter, p.entry, p.saved = 300, 310, 320, 330, 340
	profileRecord(p, false, 350)
	p.call, p.kernel, p.enter, p.entry, p.saved = 400, 410, 420, 430, 440
	profileRecord(p, true, 450)
	if profCount != 1 {
		t.Fatalf("after an interrupt: count %d", profCount)
	}
	// Stamps out of order (a stamp from another round trip) are dropped.
	p.call, p.kernel, p.enter, p.entry, p.saved = 500, 490, 520, 530, 540
	profileRecord(p, true, 550)
	if profCount != 1 {
		t.Fatalf("out of order: count %d", profCount)
	}
	profSums, profCount = [NumProfParts]uint64{}, 0
}
