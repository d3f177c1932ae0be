package sample

import (
	"encoding/json"
	"math"
	"math/big"
	"strconv"

	"github.com/wotgen/wotgen/runtime/td"
)

// Numbers are computed with exact rationals: a schema's 0.1 is the decimal 1/10 (as JSON Schema
// validators read it), not the binary float nearest to it, so multipleOf holds exactly.

// ratOf returns the decimal value f is written as in JSON (its shortest representation); nil for NaN
// or an infinity, which JSON cannot hold.
func ratOf(f float64) *big.Rat {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return nil
	}
	r, ok := new(big.Rat).SetString(strconv.FormatFloat(f, 'g', -1, 64))
	if !ok {
		return nil
	}
	return r
}

// bounds is a numeric range; a nil end is unbounded.
type bounds struct {
	lo, hi     *big.Rat
	loEx, hiEx bool
}

func numBounds(s *td.DataSchema) bounds {
	var b bounds
	if s.Minimum != nil {
		b.lo = ratOf(*s.Minimum)
	}
	if s.ExclusiveMinimum != nil {
		if e := ratOf(*s.ExclusiveMinimum); e != nil && (b.lo == nil || e.Cmp(b.lo) >= 0) {
			b.lo, b.loEx = e, true
		}
	}
	if s.Maximum != nil {
		b.hi = ratOf(*s.Maximum)
	}
	if s.ExclusiveMaximum != nil {
		if e := ratOf(*s.ExclusiveMaximum); e != nil && (b.hi == nil || e.Cmp(b.hi) <= 0) {
			b.hi, b.hiEx = e, true
		}
	}
	return b
}

func (b bounds) contains(r *big.Rat) bool {
	if b.lo != nil {
		if c := r.Cmp(b.lo); c < 0 || (c == 0 && b.loEx) {
			return false
		}
	}
	if b.hi != nil {
		if c := r.Cmp(b.hi); c > 0 || (c == 0 && b.hiEx) {
			return false
		}
	}
	return true
}

func (b bounds) String() string {
	lo, hi := "-∞", "+∞"
	lb, hb := "(", ")"
	if b.lo != nil {
		lo = decimal(b.lo)
		if !b.loEx {
			lb = "["
		}
	}
	if b.hi != nil {
		hi = decimal(b.hi)
		if !b.hiEx {
			hb = "]"
		}
	}
	return lb + lo + ", " + hi + hb
}

// multipleOf returns the schema's multipleOf as a rational, nil when absent or not positive.
func multipleOf(s *td.DataSchema) *big.Rat {
	if s.MultipleOf == nil || !(*s.MultipleOf > 0) {
		return nil
	}
	return ratOf(*s.MultipleOf)
}

func (g *Generator) genNumber(s *td.DataSchema, integer bool, ptr string, attempt int) (any, error) {
	b := numBounds(s)
	natural := g.UseDefaults && attempt == 0
	step := multipleOf(s)
	if integer {
		if step == nil {
			step = big.NewRat(1, 1)
		} else {
			// An integer multiple of p/q (in lowest terms) is a multiple of p.
			step = new(big.Rat).SetInt(step.Num())
		}
	}
	if step == nil {
		// Any number: integers read best, so use one when the range holds one.
		if v, ok := g.pickMultiple(b, big.NewRat(1, 1), natural); ok {
			if !natural && (g.fraction || g.rng.IntN(2) == 0) {
				h := new(big.Rat).Add(v, big.NewRat(1, 2))
				if b.contains(h) {
					v = h
				}
			}
			return json.Number(decimal(v)), nil
		}
		if b.lo != nil && b.hi != nil {
			mid := new(big.Rat).Add(b.lo, b.hi)
			mid.Quo(mid, big.NewRat(2, 1))
			if b.contains(mid) {
				return json.Number(decimal(mid)), nil
			}
		}
		return json.Number("0"), errAt(ptr, "the range %s holds no number", b)
	}
	v, ok := g.pickMultiple(b, step, natural)
	if !ok {
		what := "number"
		if integer {
			what = "integer"
		}
		return json.Number("0"), errAt(ptr, "no %s in the range %s is a multiple of %s", what, b, decimal(step))
	}
	return json.Number(decimal(v)), nil
}

// window is how many steps either side of the preferred value random samples stray.
const window = 100

// pickMultiple returns k*step inside b: near zero, exactly at the in-range value closest to zero when
// natural, random within a window otherwise.
func (g *Generator) pickMultiple(b bounds, step *big.Rat, natural bool) (*big.Rat, bool) {
	var kMin, kMax *big.Int
	if b.lo != nil {
		q := new(big.Rat).Quo(b.lo, step)
		k := ceil(q)
		if b.loEx && q.IsInt() {
			k.Add(k, big.NewInt(1))
		}
		kMin = k
	}
	if b.hi != nil {
		q := new(big.Rat).Quo(b.hi, step)
		k := floor(q)
		if b.hiEx && q.IsInt() {
			k.Sub(k, big.NewInt(1))
		}
		kMax = k
	}
	if kMin != nil && kMax != nil && kMin.Cmp(kMax) > 0 {
		return nil, false
	}
	target := big.NewInt(0)
	if kMin != nil && target.Cmp(kMin) < 0 {
		target.Set(kMin)
	}
	if kMax != nil && target.Cmp(kMax) > 0 {
		target.Set(kMax)
	}
	k := target
	if !natural {
		lo := new(big.Int).Sub(target, big.NewInt(window))
		hi := new(big.Int).Add(target, big.NewInt(window))
		if kMin != nil && lo.Cmp(kMin) < 0 {
			lo.Set(kMin)
		}
		if kMax != nil && hi.Cmp(kMax) > 0 {
			hi.Set(kMax)
		}
		span := new(big.Int).Sub(hi, lo).Int64() // at most 2*window
		k = lo.Add(lo, big.NewInt(g.rng.Int64N(span+1)))
	}
	return new(big.Rat).Mul(new(big.Rat).SetInt(k), step), true
}

func floor(q *big.Rat) *big.Int {
	// The denominator is positive, so Euclidean division rounds toward -∞.
	return new(big.Int).Div(q.Num(), q.Denom())
}

func ceil(q *big.Rat) *big.Int {
	n := new(big.Rat).Neg(q)
	f := floor(n)
	return f.Neg(f)
}

// decimal writes r as a JSON number. Values made from decimal inputs terminate; anything else is
// rounded to float64.
func decimal(r *big.Rat) string {
	if r.IsInt() {
		return r.Num().String()
	}
	d := new(big.Int).Set(r.Denom())
	two, five, zero := big.NewInt(2), big.NewInt(5), big.NewInt(0)
	var m big.Int
	digits2, digits5 := 0, 0
	for new(big.Int).Mod(d, two).Cmp(zero) == 0 {
		d.Div(d, two)
		digits2++
	}
	for m.Mod(d, five).Cmp(zero) == 0 {
		d.Div(d, five)
		digits5++
	}
	if d.Cmp(big.NewInt(1)) != 0 || max(digits2, digits5) > 1000 {
		f, _ := r.Float64()
		return strconv.FormatFloat(f, 'g', -1, 64)
	}
	return r.FloatString(max(digits2, digits5))
}
