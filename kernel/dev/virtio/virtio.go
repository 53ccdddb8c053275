// Package virtio implements the virtio 1.2 transports and split virtqueues
// as ordinary (level 1) Go over the services of dev.Platform:
//
//   - modern virtio-mmio (Version register 2), found in the ACPI DSDT
//     (LNRO0005 devices) or in virtio_mmio.device= command-line entries;
//     a legacy (Version 1) device is refused with ErrLegacy;
//   - modern virtio-pci (vendor 0x1AF4, device 0x1040+type) through its
//     vendor capabilities, with MSI-X where offered and INTx otherwise;
//   - the device status handshake and feature negotiation
//     (VIRTIO_F_VERSION_1 required; RING_INDIRECT_DESC and RING_EVENT_IDX
//     used when offered);
//   - split virtqueues with a free list, indirect descriptor tables,
//     EVENT_IDX notification and interrupt suppression.
//
// Interrupts never run driver code: one goroutine per interrupt vector
// waits with Platform.WaitVector, acknowledges the device and calls the
// handlers of the queues bound to that vector, which drain every used
// buffer (many completions per interrupt).
//
// A driver's sequence is:
//
//	d, _ := virtio.NewDevice(p, transport)
//	_ = d.Negotiate(wanted)               // reset, ACKNOWLEDGE, DRIVER, FEATURES_OK
//	rx, _ := d.SetupQueue(0, 256, onRX)   // per queue, before Start
//	_ = d.Start(onConfigChange)           // vectors, goroutines, DRIVER_OK
package virtio

import (
	"errors"
	"fmt"
	"sync"

	"github.com/gosv/gosv/kernel/dev"
)

// Device status bits (virtio 1.2 section 2.1).
const (
	StatusAcknowledge      = 1
	StatusDriver           = 2
	StatusDriverOK         = 4
	StatusFeaturesOK       = 8
	StatusDeviceNeedsReset = 64
	StatusFailed           = 128
)

// Device-independent feature bits (virtio 1.2 section 6).
const (
	FRingIndirectDesc = 1 << 28
	FRingEventIdx     = 1 << 29
	FVersion1         = 1 << 32
	FAccessPlatform   = 1 << 33
)

// Device types (virtio 1.2 section 5).
const (
	TypeNet     = 1
	TypeBlock   = 2
	TypeConsole = 3
	TypeEntropy = 4
	Type9P      = 9
	TypeVsock   = 19
	TypeFS      = 26
)

// ISR bits as reported by an interrupt acknowledgement.
const (
	ISRQueue  = 1
	ISRConfig = 2
)

// Errors of the transports and the handshake.
var (
	ErrLegacy        = errors.New("legacy virtio device (version 1) not supported")
	ErrNoVersion1    = errors.New("device does not offer VIRTIO_F_VERSION_1")
	ErrFeaturesNotOK = errors.New("device refused the negotiated features (FEATURES_OK not set)")
)

// Vector is one interrupt source of a transport: a CPU vector, the queues
// whose used-buffer notifications arrive on it, and whether configuration
// changes do.
type Vector struct {
	V      uint8
	Queues []int
	Config bool
	// Ack acknowledges the interrupt at the device and returns the ISR
	// bits (ISRQueue, ISRConfig) saying what happened. Nil means the
	// vector is not shared (MSI-X): every bound source is checked.
	Ack func() uint8
	// Done runs after the handlers (a level-triggered line is unmasked).
	Done func()
}

// Transport is the bus-specific part of a virtio device.
type Transport interface {
	// String names the device for messages ("virtio-mmio@0xfeb02e00").
	String() string
	DeviceType() uint32
	Status() uint8
	SetStatus(s uint8)
	// Reset writes 0 to the status and waits (boundedly) until the device
	// reads it back as 0.
	Reset() error
	DeviceFeatures() uint64
	SetDriverFeatures(f uint64)
	// NumQueues is the number of queues the device has, or -1 when the
	// transport cannot tell (virtio-mmio: probe QueueMax instead).
	NumQueues() int
	// QueueMax is the largest size of queue q, 0 if q does not exist.
	QueueMax(q int) int
	// SetupInterrupts allocates and routes the vectors for nq queues; it
	// runs before SetupQueue.
	SetupInterrupts(nq int) ([]Vector, error)
	// SetupQueue tells the device where queue q's rings are and enables it.
	SetupQueue(q, size int, desc, driver, device uint64) error
	// Notify returns the function that notifies the device of new
	// available buffers in queue q.
	Notify(q int) func()
	ConfigGeneration() uint32
	ReadConfig(off, width int) uint64
	WriteConfig(off, width int, v uint64)
}

// Device is a virtio device during and after initialisation.
type Device struct {
	P        dev.Platform
	T        Transport
	Features uint64 // negotiated features

	queues   []*Queue
	handlers []func()
	started  bool
	mu       sync.Mutex
}

// NewDevice wraps a transport.
func NewDevice(p dev.Platform, t Transport) *Device {
	return &Device{P: p, T: t}
}

// Negotiate resets the device and runs the status handshake up to
// FEATURES_OK, accepting the features in want that the device offers plus
// VIRTIO_F_VERSION_1 (required), RING_INDIRECT_DESC and RING_EVENT_IDX.
func (d *Device) Negotiate(want uint64) error {
	t := d.T
	if err := t.Reset(); err != nil {
		return err
	}
	t.SetStatus(StatusAcknowledge)
	t.SetStatus(StatusAcknowledge | StatusDriver)
	offered := t.DeviceFeatures()
	if offered&FVersion1 == 0 {
		d.Fail()
		return fmt.Errorf("%v: %w", t, ErrNoVersion1)
	}
	f := offered & (want | FVersion1 | FRingIndirectDesc | FRingEventIdx)
	t.SetDriverFeatures(f)
	t.SetStatus(StatusAcknowledge | StatusDriver | StatusFeaturesOK)
	if t.Status()&StatusFeaturesOK == 0 {
		d.Fail()
		return fmt.Errorf("%v: %w", t, ErrFeaturesNotOK)
	}
	d.Features = f
	return nil
}

// waitReset polls the status until the device shows the reset completed.
func waitReset(t Transport, status func() uint8) error {
	for i := 0; i < 1_000_000; i++ {
		if status() == 0 {
			return nil
		}
	}
	return fmt.Errorf("%v: device did not complete reset", t)
}

// Has reports whether feature bit f was negotiated.
func (d *Device) Has(f uint64) bool { return d.Features&f == f }

// Fail sets the FAILED status bit: the driver gave up on the device.
func (d *Device) Fail() { d.T.SetStatus(d.T.Status() | StatusFailed) }

// MaxIndirect is the number of entries of each indirect descriptor table.
const MaxIndirect = 32

// SetupQueue creates queue q with at most size descriptors (the device's
// maximum if smaller) and registers handler, which the interrupt goroutine
// calls when the device may have used buffers of q. Queues are set up in
// increasing order, all before Start.
func (d *Device) SetupQueue(q, size int, handler func()) (*Queue, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.started {
		return nil, fmt.Errorf("%v: queue %d set up after Start", d.T, q)
	}
	if q != len(d.queues) {
		return nil, fmt.Errorf("%v: queue %d set up out of order", d.T, q)
	}
	max := d.T.QueueMax(q)
	if max == 0 {
		return nil, fmt.Errorf("%v: queue %d does not exist", d.T, q)
	}
	if size > max {
		size = max
	}
	for size&(size-1) != 0 { // round down to a power of two
		size &= size - 1
	}
	maxInd := 0
	if d.Has(FRingIndirectDesc) {
		maxInd = MaxIndirect
	}
	vq, err := newQueue(d.P, q, size, maxInd, d.Has(FRingEventIdx), d.T.Notify(q))
	if err != nil {
		return nil, err
	}
	d.queues = append(d.queues, vq)
	d.handlers = append(d.handlers, handler)
	return vq, nil
}

// Start routes the interrupts, enables the queues, starts one goroutine
// per interrupt vector and sets DRIVER_OK. config, if not nil, is called
// on configuration changes.
func (d *Device) Start(config func()) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.started {
		return fmt.Errorf("%v: started twice", d.T)
	}
	vecs, err := d.T.SetupInterrupts(len(d.queues))
	if err != nil {
		d.Fail()
		return err
	}
	for _, q := range d.queues {
		if err := d.T.SetupQueue(q.Index, q.Size(), q.DescAddr(), q.DriverAddr(), q.DeviceAddr()); err != nil {
			d.Fail()
			return err
		}
	}
	d.started = true
	for _, v := range vecs {
		go d.serve(v, config)
	}
	d.T.SetStatus(StatusAcknowledge | StatusDriver | StatusFeaturesOK | StatusDriverOK)
	return nil
}

// serve is the interrupt goroutine of one vector.
func (d *Device) serve(v Vector, config func()) {
	for {
		if d.P.WaitVector(v.V) == 0 {
			return // the vector was freed
		}
		isr := uint8(ISRQueue | ISRConfig)
		if v.Ack != nil {
			isr = v.Ack()
		}
		if isr&ISRQueue != 0 {
			for _, q := range v.Queues {
				if h := d.handlers[q]; h != nil {
					h()
				}
			}
		}
		if isr&ISRConfig != 0 && v.Config && config != nil {
			config()
		}
		if v.Done != nil {
			v.Done()
		}
	}
}

// ReadConfig reads a consistent snapshot of n bytes of device-specific
// configuration at off, retrying while the configuration generation
// changes underneath.
func (d *Device) ReadConfig(off, n int) []byte {
	b := make([]byte, n)
	for {
		g := d.T.ConfigGeneration()
		for i := 0; i < n; {
			w := 1
			switch {
			case n-i >= 4 && (off+i)%4 == 0:
				w = 4
			case n-i >= 2 && (off+i)%2 == 0:
				w = 2
			}
			v := d.T.ReadConfig(off+i, w)
			for j := 0; j < w; j++ {
				b[i+j] = byte(v >> (8 * j))
			}
			i += w
		}
		if d.T.ConfigGeneration() == g {
			return b
		}
	}
}
