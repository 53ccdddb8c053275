package virtio

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/gosv/gosv/kernel/dev"
	"github.com/gosv/gosv/kernel/dev/devtest"
)

const base = 0xfeb00000

func newMMIO(t *testing.T, features uint64, nq int) (*devtest.Platform, *devtest.VirtioMMIO, *Device) {
	t.Helper()
	p := devtest.New(4 << 20)
	m := devtest.NewVirtioMMIO(p, base, 5, TypeNet, features, nq)
	tr, err := NewMMIO(p, MMIODevice{Base: base, Size: 0x200, GSI: 5})
	if err != nil {
		t.Fatal(err)
	}
	return p, m, NewDevice(p, tr)
}

func TestHandshake(t *testing.T) {
	_, m, d := newMMIO(t, FVersion1|FRingIndirectDesc|1<<5|1<<7, 2)
	if err := d.Negotiate(1<<5 | 1<<16); err != nil {
		t.Fatal(err)
	}
	if want := uint64(FVersion1 | FRingIndirectDesc | 1<<5); d.Features != want || m.Driver != want {
		t.Fatalf("features %#x, device saw %#x, want %#x", d.Features, m.Driver, want)
	}
	if s := m.Status(); s != StatusAcknowledge|StatusDriver|StatusFeaturesOK {
		t.Fatalf("status %#x", s)
	}
	if _, err := d.SetupQueue(0, 1024, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := d.SetupQueue(1, 100, nil); err != nil {
		t.Fatal(err)
	}
	if q := d.queues[1]; q.Size() != 64 {
		t.Fatalf("queue 1 size %d, want 64 (100 rounded down)", q.Size())
	}
	if _, err := d.SetupQueue(2, 8, nil); err == nil {
		t.Fatal("queue 2 of a 2-queue device set up")
	}
	if err := d.Start(nil); err != nil {
		t.Fatal(err)
	}
	if s := m.Status(); s != 0xf {
		t.Fatalf("status after Start %#x, want 0xf", s)
	}
	q0 := m.Q[0]
	if !q0.Ready || q0.Num != 256 || q0.Desc != d.queues[0].DescAddr() || q0.Used != d.queues[0].DeviceAddr() {
		t.Fatalf("queue 0 as the device sees it: %+v", q0)
	}
}

func TestHandshakeErrors(t *testing.T) {
	_, m, d := newMMIO(t, 1<<5, 1)
	if err := d.Negotiate(1 << 5); !errors.Is(err, ErrNoVersion1) {
		t.Fatalf("no VERSION_1: %v", err)
	}
	if m.Status()&StatusFailed == 0 {
		t.Fatal("FAILED not set")
	}
	_, m, d = newMMIO(t, FVersion1, 1)
	m.RefuseFeatures = true
	if err := d.Negotiate(0); !errors.Is(err, ErrFeaturesNotOK) {
		t.Fatalf("refused features: %v", err)
	}

	p := devtest.New(1 << 20)
	lm := devtest.NewVirtioMMIO(p, base, 5, TypeNet, FVersion1, 1)
	lm.Version = 1
	_, err := NewMMIO(p, MMIODevice{Base: base, Size: 0x200})
	if !errors.Is(err, ErrLegacy) || !strings.Contains(err.Error(), "virtio-mmio@0xfeb00000") || !strings.Contains(err.Error(), "force-legacy=off") {
		t.Fatalf("legacy device: %v", err)
	}
	lm.Type = 0
	lm.Version = 2
	if _, err := NewMMIO(p, MMIODevice{Base: base, Size: 0x200}); !errors.Is(err, dev.ErrNoDevice) {
		t.Fatalf("empty slot: %v", err)
	}
}

// fill runs the device side: every available chain gets its writable
// segments filled with the bytes of its readable ones (an echo device).
func echo(t *testing.T, q *devtest.DevQueue) int {
	n := 0
	for {
		c, ok, err := q.Pop()
		if err != nil {
			t.Fatal(err)
		}
		if !ok {
			return n
		}
		var in []byte
		for _, s := range c.Segs {
			if !s.Write {
				in = append(in, s.Buf...)
			}
		}
		w := 0
		for _, s := range c.Segs {
			if s.Write {
				w += copy(s.Buf, in[w:])
			}
		}
		q.Push(c.Head, uint32(w))
		n++
	}
}

func started(t *testing.T, features uint64, size int) (*devtest.Platform, *devtest.VirtioMMIO, *Device, *Queue) {
	p, m, d := newMMIO(t, features, 1)
	if err := d.Negotiate(0); err != nil {
		t.Fatal(err)
	}
	q, err := d.SetupQueue(0, size, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Start(nil); err != nil {
		t.Fatal(err)
	}
	return p, m, d, q
}

func TestQueueWrapAround(t *testing.T) {
	p, m, _, q := started(t, FVersion1, 8)
	buf, _ := p.AllocDMA(4096)
	// 70000 round trips wrap both the ring positions and the 16-bit indices.
	for i := 0; i < 70000; i++ {
		k := i % 3 // 1 to 3 outstanding chains of 2 descriptors
		for j := 0; j <= k; j++ {
			off := uint64(j * 64)
			buf.Buf[off] = byte(i + j)
			if err := q.Add([]Seg{{Addr: buf.Phys + off, Len: 8}, {Addr: buf.Phys + 2048 + off, Len: 8, Write: true}}, i*10+j); err != nil {
				t.Fatalf("round %d: %v", i, err)
			}
		}
		q.Kick()
		if n := echo(t, m.Q[0]); n != k+1 {
			t.Fatalf("round %d: device saw %d chains, want %d", i, n, k+1)
		}
		for j := 0; j <= k; j++ {
			tok, w, ok := q.Next()
			if !ok || tok != i*10+j || w != 8 || buf.Buf[2048+j*64] != byte(i+j) {
				t.Fatalf("round %d.%d: token %v written %d ok %v data %d", i, j, tok, w, ok, buf.Buf[2048+j*64])
			}
		}
		if _, _, ok := q.Next(); ok {
			t.Fatal("spurious completion")
		}
		if q.NumFree() != 8 {
			t.Fatalf("round %d: %d free descriptors, want 8", i, q.NumFree())
		}
	}
	// A full queue refuses more.
	for i := 0; i < 4; i++ {
		if err := q.Add([]Seg{{Addr: buf.Phys, Len: 1}, {Addr: buf.Phys + 1, Len: 1, Write: true}}, i); err != nil {
			t.Fatal(err)
		}
	}
	if err := q.Add([]Seg{{Addr: buf.Phys, Len: 1}}, 9); !errors.Is(err, ErrQueueFull) {
		t.Fatalf("full queue: %v", err)
	}
	if err := q.Add(nil, 9); !errors.Is(err, ErrBadChain) {
		t.Fatalf("empty chain: %v", err)
	}
}

func TestIndirect(t *testing.T) {
	p, m, _, q := started(t, FVersion1|FRingIndirectDesc, 4)
	buf, _ := p.AllocDMA(4096)
	copy(buf.Buf, "abcdefghijkl")
	// Four chains of 5 segments each fit a 4-descriptor queue.
	for i := 0; i < 4; i++ {
		segs := []Seg{
			{Addr: buf.Phys, Len: 4}, {Addr: buf.Phys + 4, Len: 4}, {Addr: buf.Phys + 8, Len: 4},
			{Addr: buf.Phys + 1024 + uint64(i*64), Len: 6, Write: true}, {Addr: buf.Phys + 1030 + uint64(i*64), Len: 6, Write: true},
		}
		if err := q.Add(segs, i); err != nil {
			t.Fatal(err)
		}
	}
	if q.NumFree() != 0 {
		t.Fatalf("%d free, want 0", q.NumFree())
	}
	q.Kick()
	if n := echo(t, m.Q[0]); n != 4 {
		t.Fatalf("device saw %d chains", n)
	}
	for i := 0; i < 4; i++ {
		tok, w, ok := q.Next()
		if !ok || tok != i || w != 12 {
			t.Fatalf("chain %d: %v %d %v", i, tok, w, ok)
		}
		if got := string(buf.Buf[1024+i*64 : 1024+i*64+12]); got != "abcdefghijkl" {
			t.Fatalf("chain %d data %q", i, got)
		}
	}
	if q.NumFree() != 4 {
		t.Fatalf("%d free after completion", q.NumFree())
	}
	// Longer than an indirect table and than the ring: refused.
	long := make([]Seg, MaxIndirect+1)
	for i := range long {
		long[i] = Seg{Addr: buf.Phys, Len: 1}
	}
	if err := q.Add(long, 0); !errors.Is(err, ErrBadChain) {
		t.Fatalf("oversized chain: %v", err)
	}
}

func TestEventIdx(t *testing.T) {
	p, m, _, q := started(t, FVersion1|FRingEventIdx, 16)
	buf, _ := p.AllocDMA(4096)
	add := func(tok int) {
		if err := q.Add([]Seg{{Addr: buf.Phys, Len: 16, Write: true}}, tok); err != nil {
			t.Fatal(err)
		}
	}
	dq := m.Q[0]
	// avail_event starts at 0: the first buffer needs a notification.
	add(0)
	if !q.Kick() {
		t.Fatal("first kick suppressed")
	}
	// The device has not popped it, so avail_event stays 0 and later
	// buffers need no notification.
	add(1)
	if q.Kick() {
		t.Fatal("kick not suppressed while the device has not caught up")
	}
	if _, ok, _ := dq.Pop(); !ok {
		t.Fatal("pop")
	}
	if _, ok, _ := dq.Pop(); !ok {
		t.Fatal("pop")
	}
	// Still buffers while the device works: no notification needed.
	add(2)
	if q.Kick() {
		t.Fatal("kick not suppressed while the device was still popping")
	}
	if _, ok, _ := dq.Pop(); !ok {
		t.Fatal("pop")
	}
	// The device found the ring empty and set avail_event = 3: the next
	// buffer notifies.
	if _, ok, _ := dq.Pop(); ok {
		t.Fatal("pop of an empty ring")
	}
	add(3)
	if !q.Kick() {
		t.Fatal("kick after device caught up suppressed")
	}
	notifies := m.Notifies.Load()
	if notifies != 2 {
		t.Fatalf("%d notifications, want 2", notifies)
	}

	// Interrupt suppression: used_event starts at 0, so the first used
	// buffer interrupts, the next ones not until the driver re-enables.
	dq.Push(0, 16)
	if !dq.Signal() {
		t.Fatal("first used buffer did not interrupt")
	}
	dq.Push(1, 16)
	if dq.Signal() {
		t.Fatal("second used buffer interrupted with used_event not advanced")
	}
	for i := 0; i < 2; i++ {
		if _, _, ok := q.Next(); !ok {
			t.Fatal("next")
		}
	}
	if q.EnableInterrupts() {
		t.Fatal("pending reported with nothing used")
	}
	dq.Push(2, 16)
	if !dq.Signal() {
		t.Fatal("used buffer after EnableInterrupts did not interrupt")
	}
	// EnableInterrupts reports buffers used before it re-armed.
	if !q.EnableInterrupts() {
		t.Fatal("pending buffer not reported")
	}
}

func TestNoNotifyFlags(t *testing.T) {
	p, m, _, q := started(t, FVersion1, 16)
	buf, _ := p.AllocDMA(4096)
	q.DisableInterrupts()
	if m.Q[0].AvailFlags()&1 == 0 {
		t.Fatal("NO_INTERRUPT not set")
	}
	if err := q.Add([]Seg{{Addr: buf.Phys, Len: 1, Write: true}}, 1); err != nil {
		t.Fatal(err)
	}
	q.Kick()
	echo(t, m.Q[0])
	if m.Q[0].Signal() {
		t.Fatal("interrupted with NO_INTERRUPT set")
	}
	if !q.EnableInterrupts() || m.Q[0].AvailFlags()&1 != 0 {
		t.Fatal("EnableInterrupts: pending not reported or flag still set")
	}
}

// TestManyCompletionsPerInterrupt runs the interrupt goroutine: the device
// completes a batch and interrupts once; the handler drains the whole batch.
func TestManyCompletionsPerInterrupt(t *testing.T) {
	p, m, d := newMMIO(t, FVersion1|FRingEventIdx, 1)
	if err := d.Negotiate(0); err != nil {
		t.Fatal(err)
	}
	got := make(chan int, 256)
	var q *Queue
	handler := func() {
		for {
			for {
				tok, _, ok := q.Next()
				if !ok {
					break
				}
				got <- tok.(int)
			}
			if !q.EnableInterrupts() {
				return
			}
		}
	}
	var err error
	if q, err = d.SetupQueue(0, 128, handler); err != nil {
		t.Fatal(err)
	}
	if err := d.Start(nil); err != nil {
		t.Fatal(err)
	}
	buf, _ := p.AllocDMA(4096)
	const n = 100
	for i := 0; i < n; i++ {
		if err := q.Add([]Seg{{Addr: buf.Phys, Len: 1, Write: true}}, i); err != nil {
			t.Fatal(err)
		}
	}
	q.Kick()
	dq := m.Q[0]
	for {
		c, ok, _ := dq.Pop()
		if !ok {
			break
		}
		dq.Push(c.Head, 1)
	}
	if !dq.Signal() {
		t.Fatal("no interrupt")
	}
	var seen []byte
	for i := 0; i < n; i++ {
		seen = append(seen, byte(<-got))
	}
	want := make([]byte, n)
	for i := range want {
		want[i] = byte(i)
	}
	if !bytes.Equal(seen, want) {
		t.Fatalf("completions out of order: %v", seen)
	}
	if m.Interrupts.Load() != 1 {
		t.Fatalf("%d interrupts for one batch", m.Interrupts.Load())
	}
}

func TestReadConfig(t *testing.T) {
	_, m, d := newMMIO(t, FVersion1, 1)
	m.Config = []byte{0x52, 0x54, 0, 0x12, 0x34, 0x56, 1, 0}
	if got := d.ReadConfig(0, 8); !bytes.Equal(got, m.Config) {
		t.Fatalf("config % x", got)
	}
	if got := d.ReadConfig(1, 5); !bytes.Equal(got, m.Config[1:6]) {
		t.Fatalf("unaligned config % x", got)
	}
}
