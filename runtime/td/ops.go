package td

// The 18 WoT operation names (the op vocabulary of https://www.w3.org/TR/wot-thing-description11/#form).
const (
	OpReadProperty            = "readproperty"
	OpWriteProperty           = "writeproperty"
	OpObserveProperty         = "observeproperty"
	OpUnobserveProperty       = "unobserveproperty"
	OpInvokeAction            = "invokeaction"
	OpQueryAction             = "queryaction"
	OpCancelAction            = "cancelaction"
	OpSubscribeEvent          = "subscribeevent"
	OpUnsubscribeEvent        = "unsubscribeevent"
	OpReadAllProperties       = "readallproperties"
	OpWriteAllProperties      = "writeallproperties"
	OpReadMultipleProperties  = "readmultipleproperties"
	OpWriteMultipleProperties = "writemultipleproperties"
	OpObserveAllProperties    = "observeallproperties"
	OpUnobserveAllProperties  = "unobserveallproperties"
	OpQueryAllActions         = "queryallactions"
	OpSubscribeAllEvents      = "subscribeallevents"
	OpUnsubscribeAllEvents    = "unsubscribeallevents"
)

// Kind is where an operation applies: an affordance kind or the Thing itself.
type Kind int

const (
	KindUnknown Kind = iota
	KindProperty
	KindAction
	KindEvent
	KindThing
)

func (k Kind) String() string {
	switch k {
	case KindProperty:
		return "property"
	case KindAction:
		return "action"
	case KindEvent:
		return "event"
	case KindThing:
		return "thing"
	}
	return "unknown"
}

// OpsOf lists the operations allowed in forms of the given kind, in the TD's order.
func OpsOf(k Kind) []string {
	switch k {
	case KindProperty:
		return []string{OpReadProperty, OpWriteProperty, OpObserveProperty, OpUnobserveProperty}
	case KindAction:
		return []string{OpInvokeAction, OpQueryAction, OpCancelAction}
	case KindEvent:
		return []string{OpSubscribeEvent, OpUnsubscribeEvent}
	case KindThing:
		return []string{OpReadAllProperties, OpWriteAllProperties, OpReadMultipleProperties,
			OpWriteMultipleProperties, OpObserveAllProperties, OpUnobserveAllProperties,
			OpQueryAllActions, OpSubscribeAllEvents, OpUnsubscribeAllEvents}
	}
	return nil
}

var opKinds = func() map[string]Kind {
	m := map[string]Kind{}
	for _, k := range []Kind{KindProperty, KindAction, KindEvent, KindThing} {
		for _, op := range OpsOf(k) {
			m[op] = k
		}
	}
	return m
}()

// KindOf returns the kind an operation belongs to, or KindUnknown for a name that is not an operation.
func KindOf(op string) Kind { return opKinds[op] }

// AllOps lists all 18 operations.
func AllOps() []string {
	var out []string
	for _, k := range []Kind{KindProperty, KindAction, KindEvent, KindThing} {
		out = append(out, OpsOf(k)...)
	}
	return out
}
