package wot

import (
	"context"
	"encoding/json"
	"fmt"
	"reflect"
)

// The typed helpers below are what generated code calls: each generated method is one call,
// so the conversions between Go values and JSON, and the validation, live in one place.

// validator is implemented by generated types with constraints.
type validator interface{ Validate() error }

// check validates v when its type has constraints; a nil pointer has nothing to check.
func check(v any) error {
	val, ok := v.(validator)
	if !ok {
		return nil
	}
	if rv := reflect.ValueOf(v); rv.Kind() == reflect.Pointer && rv.IsNil() {
		return nil
	}
	if err := val.Validate(); err != nil {
		return BadRequest("%v", err)
	}
	return nil
}

// isNone reports whether T is struct{}, which the helpers read as "no value".
func isNone[T any]() bool {
	var zero T
	_, ok := any(zero).(struct{})
	return ok
}

// ReadProperty reads the property name and decodes its value into a T.
func ReadProperty[T any](ctx context.Context, c *ConsumedThing, name string, opts ...CallOption) (T, error) {
	var v T
	raw, err := c.ReadProperty(ctx, name, opts...)
	if err != nil {
		return v, err
	}
	if err := json.Unmarshal(raw, &v); err != nil {
		return v, fmt.Errorf("decode property %q: %w", name, err)
	}
	return v, nil
}

// WriteProperty validates v (when its type has constraints; a *Error with status 400 when
// it does not conform) and writes it to the property name.
func WriteProperty[T any](ctx context.Context, c *ConsumedThing, name string, v T, opts ...CallOption) error {
	if err := check(v); err != nil {
		return err
	}
	_, err := c.WriteProperty(ctx, name, v, opts...)
	return err
}

// ObserveProperty calls fn with every new value of the property name until the
// subscription is stopped; err is set when a value does not decode into a T.
func ObserveProperty[T any](ctx context.Context, c *ConsumedThing, name string, fn func(v T, err error), opts ...CallOption) (*Subscription, error) {
	return c.ObserveProperty(ctx, name, func(n Notification) {
		var v T
		if err := json.Unmarshal(n.Value, &v); err != nil {
			fn(v, fmt.Errorf("decode property %q: %w", name, err))
			return
		}
		fn(v, nil)
	}, opts...)
}

// SubscribeEvent calls fn with the data of every occurrence of the event name until the
// subscription is stopped; err is set when the data does not decode into a T. With T
// struct{} the data is ignored.
func SubscribeEvent[T any](ctx context.Context, c *ConsumedThing, name string, fn func(data T, err error), opts ...CallOption) (*Subscription, error) {
	none := isNone[T]()
	return c.SubscribeEvent(ctx, name, func(n Notification) {
		var v T
		if !none && len(n.Value) > 0 {
			if err := json.Unmarshal(n.Value, &v); err != nil {
				fn(v, fmt.Errorf("decode event %q: %w", name, err))
				return
			}
		}
		fn(v, nil)
	}, opts...)
}

// InvokeAction validates input (when its type has constraints) and invokes the action
// name; nil input sends none. The handle queries, waits for or cancels an asynchronous
// invocation, and holds the output of a synchronous one.
func InvokeAction[Out any](ctx context.Context, c *ConsumedThing, name string, input any, opts ...CallOption) (*Action[Out], error) {
	if input != nil {
		if err := check(input); err != nil {
			return nil, err
		}
	}
	inv, err := c.InvokeAction(ctx, name, input, opts...)
	if err != nil {
		return nil, err
	}
	return NewAction[Out](c, inv), nil
}

// CallAction is InvokeAction followed by Wait: it returns the output once the action has
// finished. With Out struct{} the output is ignored.
func CallAction[Out any](ctx context.Context, c *ConsumedThing, name string, input any, opts ...CallOption) (Out, error) {
	a, err := InvokeAction[Out](ctx, c, name, input, opts...)
	if err != nil {
		var zero Out
		return zero, err
	}
	return a.Wait(ctx)
}

// ReadFunc adapts a typed read handler of an exposed Thing to a ReadHandler.
func ReadFunc[T any](f func(context.Context) (T, error)) ReadHandler {
	return func(ctx context.Context) (any, error) { return f(ctx) }
}

// WriteFunc adapts a typed write handler to a WriteHandler: the value is decoded into a T
// and validated (a 400 problem otherwise) before f sees it, and confirmed as written.
func WriteFunc[T any](f func(context.Context, T) error) WriteHandler {
	return func(ctx context.Context, raw json.RawMessage) (any, error) {
		var v T
		if err := json.Unmarshal(raw, &v); err != nil {
			return nil, BadRequest("value: %v", err)
		}
		if err := check(v); err != nil {
			return nil, err
		}
		if err := f(ctx, v); err != nil {
			return nil, err
		}
		return v, nil
	}
}

// ActionFunc adapts a typed action handler to an ActionHandler: the input is decoded into
// an In (a missing input decodes as null, so the schema decides whether that is allowed)
// and validated before f sees it. In struct{} takes no input; Out struct{} returns none.
func ActionFunc[In, Out any](f func(context.Context, In) (Out, error)) ActionHandler {
	noIn, noOut := isNone[In](), isNone[Out]()
	return func(ctx context.Context, raw json.RawMessage) (any, error) {
		var in In
		if !noIn {
			if len(raw) == 0 {
				raw = json.RawMessage("null")
			}
			if err := json.Unmarshal(raw, &in); err != nil {
				return nil, BadRequest("input: %v", err)
			}
			if err := check(in); err != nil {
				return nil, err
			}
		}
		out, err := f(ctx, in)
		if err != nil || noOut {
			return nil, err
		}
		return out, nil
	}
}
