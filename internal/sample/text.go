package sample

import (
	"math"
	"strconv"
	"strings"
)

// AppendText appends s in the Prometheus text exposition format with its
// millisecond timestamp and no newline: name{a="x",b="y"} value timestamp.
func AppendText(dst []byte, s Sample) []byte {
	dst = append(dst, s.Name...)
	if len(s.Labels) > 0 {
		dst = append(dst, '{')
		for i, l := range s.Labels {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = append(dst, l.Name...)
			dst = append(dst, '=', '"')
			dst = appendEscaped(dst, l.Value)
			dst = append(dst, '"')
		}
		dst = append(dst, '}')
	}
	dst = append(dst, ' ')
	dst = AppendValue(dst, s.V)
	dst = append(dst, ' ')
	return strconv.AppendInt(dst, s.T, 10)
}

// AppendValue formats a sample value as the text format does.
func AppendValue(dst []byte, v float64) []byte {
	switch {
	case math.IsNaN(v):
		return append(dst, "NaN"...)
	case math.IsInf(v, 1):
		return append(dst, "+Inf"...)
	case math.IsInf(v, -1):
		return append(dst, "-Inf"...)
	}
	return strconv.AppendFloat(dst, v, 'g', -1, 64)
}

// appendEscaped escapes a label value: backslash, double quote and newline.
func appendEscaped(dst []byte, v string) []byte {
	if !strings.ContainsAny(v, "\\\"\n") {
		return append(dst, v...)
	}
	for i := 0; i < len(v); i++ {
		switch c := v[i]; c {
		case '\\':
			dst = append(dst, '\\', '\\')
		case '"':
			dst = append(dst, '\\', '"')
		case '\n':
			dst = append(dst, '\\', 'n')
		default:
			dst = append(dst, c)
		}
	}
	return dst
}
