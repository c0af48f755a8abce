package main

import (
	"fmt"
	"strings"
)

// rng is splitmix64. Written out rather than taken from math/rand so the fixture bytes
// cannot change with the Go release: their stability is what the drift test checks.
type rng struct{ s uint64 }

func newRNG(seed uint64) *rng { return &rng{s: seed} }

func (r *rng) next() uint64 {
	r.s += 0x9e3779b97f4a7c15
	z := r.s
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}

// float returns a value in [0, 1).
func (r *rng) float() float64 { return float64(r.next()>>11) / (1 << 53) }

// between returns a value in [lo, hi).
func (r *rng) between(lo, hi float64) float64 { return lo + (hi-lo)*r.float() }

// intn returns a value in [0, n).
func (r *rng) intn(n int) int { return int(r.next() % uint64(n)) }

// hex returns n lowercase hex digits.
func (r *rng) hex(n int) string {
	var b strings.Builder
	for b.Len() < n {
		fmt.Fprintf(&b, "%016x", r.next())
	}
	return b.String()[:n]
}

// digits returns n decimal digits, the first one not zero.
func (r *rng) digits(n int) string {
	var b strings.Builder
	b.WriteByte(byte('1' + r.intn(9)))
	for b.Len() < n {
		b.WriteByte(byte('0' + r.intn(10)))
	}
	return b.String()
}
