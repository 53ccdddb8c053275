package machine

// 16550 UART ports (PC COM1 and COM4 I/O addresses).
const (
	com1       = 0x3f8 // console: kernel messages and the app's stdout
	comControl = 0x2e8 // control channel to the host (docs/internals.md)
)

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
	if c == '\n' {
		uartPut(com1, '\r')
	}
	uartPut(com1, c)
}

//go:nosplit
func puts(s string) {
	for i := 0; i < len(s); i++ {
		putc(s[i])
	}
}

//go:nosplit
func putHex(v uint64) {
	puts("0x")
	for i := 60; i >= 0; i -= 4 {
		putc("0123456789abcdef"[(v>>uint(i))&0xf])
	}
}

//go:nosplit
func putDec(v uint64) {
	div := uint64(1)
	for v/10 >= div {
		div *= 10
	}
	for ; div != 0; div /= 10 {
		putc(byte('0' + v/div%10))
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
