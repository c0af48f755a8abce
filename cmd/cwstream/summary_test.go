package main

import "testing"

func TestPlural(t *testing.T) {
	for _, tc := range []struct {
		n     int
		thing string
		want  string
	}{{0, "source", "0 sources"}, {1, "source", "1 source"}, {2, "retry", "2 retries"}, {1, "retry", "1 retry"}, {2, "KMS key", "2 KMS keys"}, {3, "AZ", "3 AZs"}} {
		if got := plural(tc.n, tc.thing); got != tc.want {
			t.Errorf("plural(%d, %q) = %q, want %q", tc.n, tc.thing, got, tc.want)
		}
	}
}
