package qemu

import (
	"fmt"
	"math/big"
	"strings"
)

// MaxMemoryMiB is the largest guest memory size accepted, 1 TiB in MiB.
const MaxMemoryMiB = 1 << 20

// memoryUnits maps a lower-cased unit suffix to its size in bytes. All
// units are binary (QEMU's and Docker's convention): "M", "MB" and "MiB" all
// mean 2^20 bytes.
var memoryUnits = map[string]int64{
	"b": 1,
	"k": 1 << 10, "kb": 1 << 10, "kib": 1 << 10,
	"m": 1 << 20, "mb": 1 << 20, "mib": 1 << 20,
	"g": 1 << 30, "gb": 1 << 30, "gib": 1 << 30,
	"t": 1 << 40, "tb": 1 << 40, "tib": 1 << 40,
}

// ParseMemory parses a guest memory size and returns it in MiB.
//
// The size is a decimal number with an optional fraction, followed by an
// optional case-insensitive binary unit: B, K/KB/KiB, M/MB/MiB, G/GB/GiB or
// T/TB/TiB. A number without a unit is in MiB, as with QEMU's -m: "64",
// "64M", "64m" and "64MiB" are all 64; "1G", "1GiB" and "1024" are 1024;
// "1.5G" is 1536; "2048K" is 2.
//
// It returns a one-line error naming s when s is empty, negative, not a
// number with a known unit, not a whole number of MiB (such as "512k"), zero,
// or larger than 1 TiB (MaxMemoryMiB).
func ParseMemory(s string) (mib int, err error) {
	t := strings.TrimSpace(s)
	if t == "" {
		return 0, fmt.Errorf("invalid memory size %q: empty", s)
	}
	if t[0] == '-' {
		return 0, fmt.Errorf("invalid memory size %q: must be positive", s)
	}
	i := 0
	for i < len(t) && (t[i] >= '0' && t[i] <= '9' || t[i] == '.') {
		i++
	}
	num, unit := t[:i], strings.ToLower(t[i:])
	if !isDecimal(num) {
		return 0, fmt.Errorf("invalid memory size %q: want a number with an optional unit, such as 512M, 1.5G or 2GiB", s)
	}
	scale, ok := int64(1<<20), true
	if unit != "" {
		scale, ok = memoryUnits[unit]
	}
	if !ok {
		return 0, fmt.Errorf("invalid memory size %q: unknown unit %q (want K, M, G or T)", s, t[i:])
	}
	r, ok := new(big.Rat).SetString(num)
	if !ok {
		return 0, fmt.Errorf("invalid memory size %q: bad number %q", s, num)
	}
	r.Mul(r, new(big.Rat).SetInt64(scale))
	r.Quo(r, new(big.Rat).SetInt64(1<<20))
	switch {
	case r.Sign() == 0:
		return 0, fmt.Errorf("invalid memory size %q: must be at least 1 MiB", s)
	case r.Cmp(new(big.Rat).SetInt64(MaxMemoryMiB)) > 0:
		return 0, fmt.Errorf("invalid memory size %q: larger than 1 TiB", s)
	case !r.IsInt():
		return 0, fmt.Errorf("invalid memory size %q: not a whole number of MiB", s)
	}
	return int(r.Num().Int64()), nil
}

// isDecimal reports whether s is digits with at most one '.' that has
// digits on both sides.
func isDecimal(s string) bool {
	intPart, frac, hasDot := strings.Cut(s, ".")
	return allDigits(intPart) && (!hasDot || allDigits(frac))
}

func allDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}
