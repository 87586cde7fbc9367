/// The largest request head (request line and header block) any Portico listener reads: beyond it the answer is
/// 431. nginx's and Envoy's defaults are of this order; no real credential or cookie set comes near it.
public enum RequestHeadLimit {
    public static let bytes = 32 * 1024
}
