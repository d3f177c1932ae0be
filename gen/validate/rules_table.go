package validate

// Rule describes one diagnostic code. Codes are stable: new rules get new codes, retired codes are
// never reused.
type Rule struct {
	Code     string
	Severity Severity
	Title    string // short name, used as the SARIF rule name
	Help     string // what the rule checks and why
}

// Diagnostic codes.
const (
	CodeUnreadable      = "TD000"
	CodeSyntax          = "TD001"
	CodeDuplicateKey    = "TD002"
	CodeBOM             = "TD003"
	CodeNumberRange     = "TD004"
	CodeTooMany         = "TD009"
	CodeSchema          = "TD010"
	CodeTD10Feature     = "TD011"
	CodeUndefinedSec    = "TD020"
	CodeUnusedSec       = "TD021"
	CodeOAuth2Flow      = "TD022"
	CodeOpKind          = "TD023"
	CodeThingFormOp     = "TD024"
	CodeWTPHref         = "TD025"
	CodeRelativeHref    = "TD026"
	CodeURIVariable     = "TD027"
	CodeReadWriteOnly   = "TD030"
	CodeRequiredMissing = "TD031"
	CodeValueMismatch   = "TD032"
	CodeDefaultMismatch = "TD033"
	CodeBounds          = "TD034"
	CodePatternInvalid  = "TD035"
	CodePatternECMA     = "TD036"
	CodeID              = "TD040"
	CodeIDAndAtID       = "TD041"
	CodeContext         = "TD042"
	CodeGoName          = "TD043"
	CodeMultiLang       = "TD044"
	CodeLinkRel         = "TD045"
	CodePlaceholder     = "TM001"
	CodePlaceholderName = "TM002"
	CodeTMRef           = "TM003"
	CodeTMOptional      = "TM004"
	CodeTMRequired      = "TM005"
	CodeExtendsRel      = "TM006"
	CodeInstance        = "TM010"
)

// Rules lists every diagnostic code, in code order.
var Rules = []Rule{
	{CodeUnreadable, SeverityError, "unreadable", "The input could not be read (missing file, network error, too large)."},
	{CodeSyntax, SeverityError, "json-syntax", "The input is not valid JSON (RFC 8259, UTF-8)."},
	{CodeDuplicateKey, SeverityError, "duplicate-key", "A JSON object has the same member twice; ordinary JSON parsers silently keep the last one (a warning when both values are equal)."},
	{CodeBOM, SeverityWarning, "byte-order-mark", "The file starts with a UTF-8 byte order mark, which TD producers must not write."},
	{CodeNumberRange, SeverityError, "number-range", "A number does not fit a 64-bit float."},
	{CodeTooMany, SeverityWarning, "too-many-findings", "More findings than MaxDiagnostics; the rest are not listed."},
	{CodeSchema, SeverityError, "schema", "The document does not match the TD 1.1 / Thing Model JSON Schema."},
	{CodeTD10Feature, SeverityWarning, "td10-feature", "A TD 1.0 document (TD 1.0 @context only) uses a term or value introduced by TD 1.1."},
	{CodeUndefinedSec, SeverityError, "undefined-security", "A name in security (Thing or form level) or in a combo scheme is not defined in securityDefinitions."},
	{CodeUnusedSec, SeverityWarning, "unused-security-definition", "A securityDefinitions entry is never used by security, a form or a combo scheme."},
	{CodeOAuth2Flow, SeverityError, "oauth2-flow", "An oauth2 scheme does not have the members its flow requires (code: authorization and token; client: token, no authorization)."},
	{CodeOpKind, SeverityError, "op-kind", "An op value is not an operation of the affordance kind (property, action, event or Thing) holding the form."},
	{CodeThingFormOp, SeverityError, "thing-form-op", "A Thing-level form has no op; there is no default for meta operations."},
	{CodeWTPHref, SeverityError, "wtp-href", "A form with subprotocol webthingprotocol does not resolve to a ws:// or wss:// URL."},
	{CodeRelativeHref, SeverityWarning, "relative-href", "A relative href with no base: Consumers resolve it against the URL the TD was fetched from, which a file does not have."},
	{CodeURIVariable, SeverityWarning, "uri-variable", "An href template variable is not declared in uriVariables (TD 1.1 says it MUST be); generate treats it as a string."},
	{CodeReadWriteOnly, SeverityWarning, "read-write-only", "readOnly and writeOnly are both true; TD 1.1 gives this no meaning."},
	{CodeRequiredMissing, SeverityWarning, "required-missing", "A name in required is not a member of properties, so the required member has no schema and no Go field."},
	{CodeValueMismatch, SeverityError, "value-mismatch", "An enum or const value does not match its own data schema."},
	{CodeDefaultMismatch, SeverityWarning, "default-mismatch", "A default value does not match its own data schema."},
	{CodeBounds, SeverityError, "bounds", "A lower bound exceeds its upper bound (minimum/maximum, minLength/maxLength, minItems/maxItems)."},
	{CodePatternInvalid, SeverityError, "pattern-invalid", "A pattern is not a valid regular expression."},
	{CodePatternECMA, SeverityWarning, "pattern-ecma", "A pattern uses ECMA-262 features (look-around, back-references) that Go's RE2 engine cannot run; generated validation skips it."},
	{CodeID, SeverityError, "id-uri", "The Thing id is not an absolute URI."},
	{CodeIDAndAtID, SeverityError, "id-and-at-id", "Both id and @id are present; JSON-LD maps id to @id, so the document has two identifiers."},
	{CodeContext, SeverityWarning, "unknown-context", "An @context entry is not a known TD context, a URI or a prefix map with URI values."},
	{CodeGoName, SeverityWarning, "go-name-collision", "Several JSON names map to the same Go identifier; wotgen generate renames them deterministically."},
	{CodeMultiLang, SeverityWarning, "multilang-consistency", "Multi-language maps (titles, descriptions) do not cover the same languages across the document."},
	{CodeLinkRel, SeverityError, "link-rel-count", "A link relation that may appear at most once (type, tm:extends, collection, predecessor-version) appears more often."},
	{CodePlaceholder, SeverityError, "tm-placeholder", "A Thing Model placeholder is malformed: it must be {{NAME}} with printable ASCII characters."},
	{CodePlaceholderName, SeverityError, "tm-placeholder-name", "A placeholder is used as a member name; placeholders are allowed in values only."},
	{CodeTMRef, SeverityError, "tm-ref", "A tm:ref is malformed or its local target (same document) does not exist."},
	{CodeTMOptional, SeverityError, "tm-optional", "A tm:optional pointer does not point to an affordance of the model."},
	{CodeTMRequired, SeverityWarning, "tm-required", "tm:required is the pre-2022 draft term; TD 1.1 uses tm:optional (the inverse list)."},
	{CodeExtendsRel, SeverityWarning, "tm-extends-rel", "A link uses rel \"extends\"; the Thing Model relation is \"tm:extends\"."},
	{CodeInstance, SeverityError, "tm-instance", "With -tm: the TD is not a correct instance of the Thing Model (a mandatory affordance is missing, a type changed or a data schema was widened)."},
}

var ruleByCode = func() map[string]Rule {
	m := make(map[string]Rule, len(Rules))
	for _, r := range Rules {
		m[r.Code] = r
	}
	return m
}()

// newDiag makes a diagnostic with the rule's default severity and no position yet.
func newDiag(code, msg string) Diagnostic {
	sev := SeverityError
	if r, ok := ruleByCode[code]; ok {
		sev = r.Severity
	}
	return Diagnostic{Code: code, Severity: sev, Message: msg, offset: -1}
}
