//! What eBay's published contracts allow, and how the connector fits the
//! platform's events to them.
//!
//! Sources (see `tests/schemas/ebay/README.md` for the versions):
//! - Inventory API (`sell_inventory_v1_oas3.json`): SKU at most 50
//!   alphanumeric characters (errorId 25707), title 80, description 4,000,
//!   brand and MPN 65, aspect names 40 and values 50, up to 24 pictures,
//!   quantities are `int32`, `listingDuration` must be `GTC` for fixed-price
//!   offers, and an offer is published only with a picture and a quantity of
//!   at least 1.
//! - Fulfillment API (`sell_fulfillment_v1_oas3.json`): tracking numbers of
//!   letters and digits only; `shippingCarrierCode` one of the Trading
//!   API's `ShippingCarrierCodeType` values.
//!
//! Text that is merely long is cut at a word boundary (title, description,
//! aspect values); an aspect whose name is too long is left out; a value
//! that identifies something (SKU, brand, MPN, tracking number) is never
//! altered beyond dropping separators, and the event fails permanently with
//! eBay's rule when it does not fit.

/// Longest SKU.
pub const MAX_SKU_CHARS: usize = 50;
/// Longest title.
pub const MAX_TITLE_CHARS: usize = 80;
/// Longest product description.
pub const MAX_DESCRIPTION_CHARS: usize = 4000;
/// Longest brand and MPN.
pub const MAX_BRAND_CHARS: usize = 65;
/// Longest aspect name.
pub const MAX_ASPECT_NAME_CHARS: usize = 40;
/// Longest aspect value.
pub const MAX_ASPECT_VALUE_CHARS: usize = 50;
/// Most pictures of one listing.
pub const MAX_IMAGES: usize = 24;
/// Largest quantity (`int32`).
pub const MAX_QUANTITY: u64 = i32::MAX as u64;

/// Checks `sku` against eBay's SKU rule (errorId 25707).
pub fn check_sku(sku: &str) -> Result<(), String> {
    let allowed = |c: char| c.is_ascii_alphanumeric() || matches!(c, '-' | '_');
    if !sku.is_empty() && sku.chars().count() <= MAX_SKU_CHARS && sku.chars().all(allowed) {
        return Ok(());
    }
    Err(format!(
        "sku {sku:?} cannot be used on eBay: eBay takes SKUs of 1 to {MAX_SKU_CHARS} letters and \
         digits (A-Z, a-z, 0-9, with - and _), errorId 25707"
    ))
}

/// `quantity` as eBay's `int32`, or the rule it breaks.
pub fn quantity(field: &str, quantity: u64) -> Result<u32, String> {
    u32::try_from(quantity)
        .ok()
        .filter(|quantity| u64::from(*quantity) <= MAX_QUANTITY)
        .ok_or_else(|| {
            format!(
                "{field} {quantity} cannot be sent to eBay: eBay's quantities are int32, at most \
                 {MAX_QUANTITY}"
            )
        })
}

/// Checks that `value` of `field` has at most `max` characters.
pub fn check_length(field: &str, value: &str, max: usize) -> Result<(), String> {
    let count = value.chars().count();
    if count <= max {
        Ok(())
    } else {
        Err(format!(
            "{field} is {count} characters; eBay takes at most {max}"
        ))
    }
}

/// `text` trimmed and cut to `max` characters, at the last word boundary
/// when one lies in the second half, else exactly at `max`.
pub fn cut_at_word(text: &str, max: usize) -> String {
    let text = text.trim();
    if text.chars().count() <= max {
        return text.to_owned();
    }
    let cut: String = text.chars().take(max).collect();
    let next_is_space = text.chars().nth(max).is_some_and(char::is_whitespace);
    if next_is_space {
        return cut.trim_end().to_owned();
    }
    match cut.rfind(char::is_whitespace) {
        Some(at) if cut[..at].chars().count() >= max / 2 => cut[..at].trim_end().to_owned(),
        _ => cut.trim_end().to_owned(),
    }
}

/// The tracking number eBay takes: the carrier's number without the spaces
/// and punctuation labels print in it (eBay supports letters and digits
/// only), or why it cannot be one.
pub fn tracking_number(text: &str) -> Result<String, String> {
    let kept: String = text
        .chars()
        .filter(|c| !c.is_whitespace() && !c.is_ascii_punctuation())
        .collect();
    if kept.is_empty() || !kept.chars().all(|c| c.is_ascii_alphanumeric()) {
        return Err(format!(
            "tracking_number {text:?} cannot be sent to eBay: eBay supports tracking numbers of \
             letters and digits (A-Z, a-z, 0-9) only"
        ));
    }
    Ok(kept)
}

/// eBay's `shippingCarrierCode` for the carriers stores name most, by their
/// name folded to lower-case letters and digits.
const CARRIER_NAMES: &[(&str, &str)] = &[
    ("ups", "UPS"),
    ("upsmailinnovations", "UPSMailInnovations"),
    ("usps", "USPS"),
    ("fedex", "FedEx"),
    ("fedexsmartpost", "FedExSmartPost"),
    ("dhl", "DHL"),
    ("dhlexpress", "DHL"),
    ("dhlglobalmail", "DHLGlobalMail"),
    ("dhlecommerce", "DHLGlobalMail"),
    ("royalmail", "RoyalMail"),
    ("parcelforce", "Parcelforce"),
    ("parcelforceworldwide", "Parcelforce"),
    ("dpd", "DPD"),
    ("gls", "GLS"),
    ("hermes", "Hermes"),
    ("evri", "Hermes"),
    ("yodel", "Yodel"),
    ("deutschepost", "DeutschePost"),
    ("laposte", "LAPOSTE"),
    ("colissimo", "Colissimo"),
    ("chronopost", "Chronopost"),
    ("correos", "Correos"),
    ("posteitaliane", "PosteItaliane"),
    ("brt", "Bartolini"),
    ("bartolini", "Bartolini"),
    ("postnl", "PostNL"),
    ("bpost", "BPost"),
    ("anpost", "AnPost"),
    ("australiapost", "AustraliaPost"),
    ("startrack", "StarTrack"),
    ("japanpost", "JapanPost"),
    ("chinapost", "ChinaPost"),
    ("tnt", "TNT"),
    ("ontrac", "ONTRACK"),
    ("swisspost", "SwissPost"),
    ("postnord", "PostNordNorway"),
    ("pocztapolska", "PocztaPolska"),
    ("osterreichischepost", "OsterreichischePostAG"),
    ("austrianpost", "OsterreichischePostAG"),
];

/// The `ShippingCarrierCodeType` values of eBay's Trading API that the
/// Fulfillment API takes as `shippingCarrierCode`.
pub const CARRIER_CODES: [&str; 167] = [
    "UPS",
    "USPS",
    "FedEx",
    "DeutschePost",
    "DHL",
    "Hermes",
    "iLoxx",
    "Other",
    "ColiposteDomestic",
    "ColiposteInternational",
    "Chronopost",
    "Correos",
    "Seur",
    "Nacex",
    "FourPX",
    "FourPXCHINA",
    "FourPXExpress",
    "FourPXLTD",
    "SevenLSP",
    "A1CourierServices",
    "ABF",
    "AeroPost",
    "ALLIEDEXPRESS",
    "AMWST",
    "AnPost",
    "APC",
    "ARAMEX",
    "ARVATO",
    "ASM",
    "AustraliaPost",
    "AustralianAirExpress",
    "AVRT",
    "BPost",
    "Bartolini",
    "BELGIANPOST",
    "BKNS",
    "BluePackage",
    "BusinessPost",
    "CanPar",
    "CENF",
    "CEVA",
    "ChinaPost",
    "Chronoexpres",
    "CHUKOU1",
    "ChunghwaPost",
    "CitiPost",
    "CityLink",
    "ClickandQuick",
    "CNWY",
    "Colissimo",
    "CollectPlus",
    "CPC",
    "DAIPost",
    "DayandRoss",
    "DBSchenker",
    "DHLEXPRESS",
    "DHLGlobalMail",
    "DHLEKB",
    "DHLG",
    "DieSchweizerischePost",
    "DPD",
    "DPXThailand",
    "Ducros",
    "EGO",
    "EMF",
    "Exapaq",
    "Fastway",
    "FASTWAYCOURIERS",
    "FedExSmartPost",
    "FLYT",
    "FLYTExpress",
    "FlytExpressUSDirectline",
    "FTFT",
    "FulfilExpressAccStation",
    "FulfilExpresseForCity",
    "FulfilExpressEverydaySource",
    "FulfilExpressiTrimming",
    "GLS",
    "HDUSA",
    "HomeDeliveryNetwork",
    "HongKongPost",
    "HUNTEREXPRESS",
    "IndiaPost",
    "IndonesiaPost",
    "Interlink",
    "InterPost",
    "IoInvio",
    "Iparcel",
    "IsraelPost",
    "JapanPost",
    "KIALA",
    "KoreaPost",
    "LAPOSTE",
    "Landmark",
    "LDSO",
    "LTL",
    "MALAYSIAPOST",
    "MannaFreight",
    "Metapack",
    "MNGTurkey",
    "MondialRelay",
    "MRW",
    "MSI",
    "NEMF",
    "ODFL",
    "OFFD",
    "ONTRACK",
    "OsterreichischePostAG",
    "OVNT",
    "ParcelPool",
    "Parcelforce",
    "Philpost",
    "Pilot",
    "PITD",
    "PocztaPolska",
    "Pocztex",
    "POSTITALIANO",
    "PostNL",
    "PostNordNorway",
    "PosteItaliane",
    "Prestige",
    "Quantium",
    "RETL",
    "RoyalMail",
    "RRUN",
    "SAIA",
    "SDA",
    "SFC",
    "SFCExpress",
    "SINGAPOREPOST",
    "Siodemka",
    "SioliandFontana",
    "SkynetMalaysia",
    "SMARTSEND",
    "Sogetras",
    "Spediamo",
    "SpeeDee",
    "StarTrack",
    "SuntekExpressLTD",
    "SwissPost",
    "TELE",
    "TEMANDO",
    "THAILANDPOST",
    "TNT",
    "TNTEXPRESS",
    "TNTPost",
    "Toll",
    "TPG",
    "TWW",
    "UBI",
    "UKMail",
    "UPSMailInnovations",
    "UPSC",
    "USFG",
    "USPSCeP",
    "USPSPMI",
    "VietnamPost",
    "VITR",
    "WATKINS",
    "Winit",
    "Wise",
    "WNdirect",
    "WPX",
    "YANWEN",
    "Yodel",
    "YRC",
    "CustomCode",
];

/// eBay's `shippingCarrierCode` for `carrier`: eBay's own code when the
/// store already wrote one (in any case), the code of a carrier known by
/// name (`Royal Mail` → `RoyalMail`), else `Other`, eBay's code for "any
/// carrier not listed".
pub fn carrier_code(carrier: &str) -> &'static str {
    let trimmed = carrier.trim();
    if let Some(code) = CARRIER_CODES
        .iter()
        .find(|code| code.eq_ignore_ascii_case(trimmed))
    {
        return code;
    }
    let folded: String = trimmed
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .map(|c| c.to_ascii_lowercase())
        .collect();
    CARRIER_NAMES
        .iter()
        .find(|(name, _)| *name == folded)
        .map_or("Other", |(_, code)| code)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn skus_are_letters_digits_hyphens_and_underscores_up_to_50() {
        assert!(check_sku("TSHIRT-RED_M1").is_ok());
        assert!(check_sku(&"A".repeat(50)).is_ok());
        for bad in [
            "",
            "A B",
            "A/B",
            "A#1",
            "A%1",
            "A~1",
            "Größe",
            "A.B",
            &"A".repeat(51),
        ] {
            let error = check_sku(bad).unwrap_err();
            assert!(error.contains("25707") && error.contains("50"), "{error}");
        }
    }

    #[test]
    fn quantities_must_fit_in_an_int32() {
        assert_eq!(quantity("quantity", 0), Ok(0));
        assert_eq!(quantity("quantity", 2_147_483_647), Ok(2_147_483_647));
        let error = quantity("quantity", 3_000_000_000).unwrap_err();
        assert!(
            error.contains("int32") && error.contains("2147483647"),
            "{error}"
        );
    }

    #[test]
    fn long_text_is_cut_at_a_word() {
        let text = format!("{} tail", "word ".repeat(20));
        let cut = cut_at_word(&text, 50);
        assert!(cut.chars().count() <= 50 && text.starts_with(&cut), "{cut}");
        assert!(cut.ends_with("word"));
        assert_eq!(cut_at_word(&"x".repeat(60), 50).len(), 50);
        assert_eq!(cut_at_word("  Mug  ", 50), "Mug");
    }

    #[test]
    fn tracking_numbers_keep_letters_and_digits() {
        assert_eq!(tracking_number("1Z 999-AA1.01/23").unwrap(), "1Z999AA10123");
        assert!(tracking_number("ÄB12").is_err());
        assert!(tracking_number(" - ").is_err());
    }

    #[test]
    fn carriers_become_ebay_codes() {
        assert_eq!(carrier_code("Royal Mail"), "RoyalMail");
        assert_eq!(carrier_code("royalmail"), "RoyalMail");
        assert_eq!(carrier_code("UPS"), "UPS");
        assert_eq!(carrier_code("Fed-Ex"), "FedEx");
        assert_eq!(carrier_code("Deutsche Post"), "DeutschePost");
        assert_eq!(carrier_code("Bob's Couriers"), "Other");
        assert!(
            CARRIER_NAMES
                .iter()
                .all(|(_, code)| CARRIER_CODES.contains(code))
        );
    }
}
