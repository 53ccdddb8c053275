package machine

import "github.com/gosv/gosv/internal/bootproto"

// 16550 UART ports (PC COM1 and COM4 I/O addresses).
const (
	com1       = bootproto.ConsolePort // console: the app's stdout (and everything when there is no COM2)
	com2       = bootproto.StderrPort  // the app's and the kernel's stderr, when the VM has it
	comControl = bootproto.ControlPort // control channel to the host (docs/internals.md)
)

// haveCOM2 is set at boot when a 16550 answers at COM2.
var haveCOM2 bool

// uartPresent reports whether a 16550 answers at base: the scratch
// register keeps what is written to it (reads of an empty port give 0xFF).
//
//go:nosplit
func uartPresent(base uint16) bool {
	outb(base+7, 0x5A)
	if inb(base+7) != 0x5A {
		return false
	}
	outb(base+7, 0xA5)
	return inb(base+7) == 0xA5
}

// putcErr writes one byte of stderr. Bytes go out unchanged (no CR is
// added): the host tool reads the serial ports through pipes, so the
// user's terminal does its own newline handling.
//
//go:nosplit
func putcErr(c byte) {
	if !haveCOM2 {
		putc(c)
		return
	}
	uartPut(com2, c)
}

// uartInit programs a 16550 for 115200 8N1 with FIFOs and no interrupts.
//
//go:nosplit
func uartInit(base uint16) {
	outb(base+1, 0x00) // IER: no interrupts
	outb(base+3, 0x80) // LCR: DLAB
	outb(base+0, 0x01) // divisor 1 = 115200
	outb(base+1, 0x00)
	outb(base+3, 0x03) // 8N1
	outb(base+2, 0xC7) // FIFO on, clear
	outb(base+4, 0x03) // DTR, RTS
}

//go:nosplit
func uartPut(base uint16, c byte) {
	for i := 0; i < 100000 && inb(base+5)&0x20 == 0; i++ {
	}
	outb(base, c)
}

//go:nosplit
func putc(c byte) {
	uartPut(com1, c)
}

// puts writes a kernel diagnostic: to the stderr port (COM2) when the VM
// has one, else the console.
//
//go:nosplit
func puts(s string) {
	for i := 0; i < len(s); i++ {
		putcErr(s[i])
	}
}

//go:nosplit
func putHex(v uint64) {
	puts("0x")
	for i := 60; i >= 0; i -= 4 {
		putcErr("0123456789abcdef"[(v>>uint(i))&0xf])
	}
}

//go:nosplit
func putDec(v uint64) {
	div := uint64(1)
	for v/10 >= div {
		div *= 10
	}
	for ; div != 0; div /= 10 {
		putcErr(byte('0' + v/div%10))
	}
}

// controlWrite sends bytes on the control channel to the host.
//
//go:nosplit
func controlPuts(s string) {
	for i := 0; i < len(s); i++ {
		uartPut(comControl, s[i])
	}
}

//go:nosplit
func controlDec(v uint64) {
	div := uint64(1)
	for v/10 >= div {
		div *= 10
	}
	for ; div != 0; div /= 10 {
		uartPut(comControl, byte('0'+v/div%10))
	}
}
