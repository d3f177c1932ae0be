package wtp

// The 18 operation names of the Web Thing Protocol (the TD operation types).
// They mirror the td.Op* constants so the codec does not depend on the TD model.
const (
	OpReadProperty            = "readproperty"
	OpWriteProperty           = "writeproperty"
	OpObserveProperty         = "observeproperty"
	OpUnobserveProperty       = "unobserveproperty"
	OpReadAllProperties       = "readallproperties"
	OpWriteAllProperties      = "writeallproperties"
	OpReadMultipleProperties  = "readmultipleproperties"
	OpWriteMultipleProperties = "writemultipleproperties"
	OpObserveAllProperties    = "observeallproperties"
	OpUnobserveAllProperties  = "unobserveallproperties"
	OpInvokeAction            = "invokeaction"
	OpQueryAction             = "queryaction"
	OpCancelAction            = "cancelaction"
	OpQueryAllActions         = "queryallactions"
	OpSubscribeEvent          = "subscribeevent"
	OpUnsubscribeEvent        = "unsubscribeevent"
	OpSubscribeAllEvents      = "subscribeallevents"
	OpUnsubscribeAllEvents    = "unsubscribeallevents"
)

// IsOperation reports whether op is one of the 18 WTP operation names.
func IsOperation(op string) bool {
	switch op {
	case OpReadProperty, OpWriteProperty, OpObserveProperty, OpUnobserveProperty,
		OpReadAllProperties, OpWriteAllProperties, OpReadMultipleProperties, OpWriteMultipleProperties,
		OpObserveAllProperties, OpUnobserveAllProperties,
		OpInvokeAction, OpQueryAction, OpCancelAction, OpQueryAllActions,
		OpSubscribeEvent, OpUnsubscribeEvent, OpSubscribeAllEvents, OpUnsubscribeAllEvents:
		return true
	}
	return false
}
