/// The national numbering rules of one supported region.
struct NumberingPlan: Sendable {
    /// ISO 3166 alpha-2.
    let region: String
    let callingCode: Int
    /// The digit dialled before a national number inside the country, if it has one.
    let trunkPrefix: UInt8?
    /// What starts an international number dialled from the region, longest first.
    let internationalPrefixes: [[UInt8]]
    /// The lengths of geographic and mobile national significant numbers.
    let lengths: ClosedRange<Int>
    /// The digits those numbers can start with.
    let leadingDigits: Set<UInt8>

    init(
        _ region: String, _ callingCode: Int, trunk: Character?, international: [String] = ["00"],
        lengths: ClosedRange<Int>, leading: String
    ) {
        self.region = region
        self.callingCode = callingCode
        self.trunkPrefix = trunk?.asciiValue
        self.internationalPrefixes = international.map { Array($0.utf8) }.sorted { $0.count > $1.count }
        self.lengths = lengths
        self.leadingDigits = Set(leading.utf8)
    }
}

/// The tables behind ``PhoneNumber`` and ``TimeZoneGuess``.
///
/// They are compact text, parsed once on first use, because a few hundred entries read better
/// (and type-check faster) as text than as Swift literals.
enum NumberingTables {
    /// Regions whose national numbers can be read. Lengths are those of geographic and mobile
    /// numbers, the ones a contact list holds.
    static let plans: [NumberingPlan] = [
        NumberingPlan("US", 1, trunk: "1", international: ["011", "00"], lengths: 10...10, leading: "23456789"),
        NumberingPlan("CA", 1, trunk: "1", international: ["011", "00"], lengths: 10...10, leading: "23456789"),
        // 9-digit numbers survive in a few rural areas; 7-digit freephone numbers are not contacts.
        NumberingPlan("GB", 44, trunk: "0", lengths: 9...10, leading: "1235789"),
        // Area codes of 2 to 5 digits and subscriber numbers of 3 to 8, plus direct-dial extensions.
        NumberingPlan("DE", 49, trunk: "0", lengths: 6...13, leading: "123456789"),
        NumberingPlan("FR", 33, trunk: "0", lengths: 9...9, leading: "123456789"),
        NumberingPlan("DK", 45, trunk: nil, lengths: 8...8, leading: "23456789"),
        NumberingPlan("NO", 47, trunk: nil, lengths: 8...8, leading: "23456789"),
        NumberingPlan("SE", 46, trunk: "0", lengths: 7...9, leading: "123456789"),
        NumberingPlan("FI", 358, trunk: "0", lengths: 6...10, leading: "123456789"),
        NumberingPlan("PL", 48, trunk: nil, lengths: 9...9, leading: "123456789"),
        NumberingPlan("NL", 31, trunk: "0", lengths: 9...9, leading: "123456789"),
        NumberingPlan("ES", 34, trunk: nil, lengths: 9...9, leading: "6789"),
        // Italian fixed-line numbers keep their leading 0 after +39; mobiles start with 3.
        NumberingPlan("IT", 39, trunk: nil, lengths: 6...11, leading: "03"),
        // 2, 3, 7, 8 are the geographic areas, 4 (and 5) mobiles.
        NumberingPlan("AU", 61, trunk: "0", international: ["0011", "00"], lengths: 9...9, leading: "234578"),
    ]

    private static let plansByRegion: [String: NumberingPlan] = Dictionary(
        plans.map { ($0.region, $0) }, uniquingKeysWith: { first, _ in first })
    private static let plansByCallingCode: [Int: NumberingPlan] = Dictionary(
        plans.map { ($0.callingCode, $0) }, uniquingKeysWith: { first, _ in first })

    static func plan(forRegion region: String) -> NumberingPlan? {
        plansByRegion[region]
    }

    /// The plan that validates numbers with this calling code; nil for the NANP (validated by
    /// its own rules) and for countries without a table.
    static func plan(forCallingCode code: Int) -> NumberingPlan? {
        code == 1 ? nil : plansByCallingCode[code]
    }

    // MARK: - Country calling codes

    /// One geographic country calling code.
    struct CallingCode: Sendable {
        /// The regions using it, main one first.
        let regions: [String]
        /// The one IANA zone of all of them, if they have one.
        let zone: String?
    }

    /// Every geographic country calling code of ITU-T E.164 (as assigned in 2024), the regions
    /// that use it, and their zone when the whole code keeps one time.
    ///
    /// Non-geographic codes (international freephone 800, satellite 870/881, networks 882/883,
    /// premium 979 ...) are left out on purpose: they are not contacts a campaign calls. The
    /// codes are prefix-free, so a number's code is the one of its first 1 to 3 digits found here.
    private static let callingCodeTable = """
        1 US,CA
        7 RU,KZ
        20 EG Africa/Cairo
        211 SS Africa/Juba
        212 MA,EH
        213 DZ Africa/Algiers
        216 TN Africa/Tunis
        218 LY Africa/Tripoli
        220 GM Africa/Banjul
        221 SN Africa/Dakar
        222 MR Africa/Nouakchott
        223 ML Africa/Bamako
        224 GN Africa/Conakry
        225 CI Africa/Abidjan
        226 BF Africa/Ouagadougou
        227 NE Africa/Niamey
        228 TG Africa/Lome
        229 BJ Africa/Porto-Novo
        230 MU Indian/Mauritius
        231 LR Africa/Monrovia
        232 SL Africa/Freetown
        233 GH Africa/Accra
        234 NG Africa/Lagos
        235 TD Africa/Ndjamena
        236 CF Africa/Bangui
        237 CM Africa/Douala
        238 CV Atlantic/Cape_Verde
        239 ST Africa/Sao_Tome
        240 GQ Africa/Malabo
        241 GA Africa/Libreville
        242 CG Africa/Brazzaville
        243 CD
        244 AO Africa/Luanda
        245 GW Africa/Bissau
        246 IO Indian/Chagos
        247 AC
        248 SC Indian/Mahe
        249 SD Africa/Khartoum
        250 RW Africa/Kigali
        251 ET Africa/Addis_Ababa
        252 SO Africa/Mogadishu
        253 DJ Africa/Djibouti
        254 KE Africa/Nairobi
        255 TZ Africa/Dar_es_Salaam
        256 UG Africa/Kampala
        257 BI Africa/Bujumbura
        258 MZ Africa/Maputo
        260 ZM Africa/Lusaka
        261 MG Indian/Antananarivo
        262 RE,YT
        263 ZW Africa/Harare
        264 NA Africa/Windhoek
        265 MW Africa/Blantyre
        266 LS Africa/Maseru
        267 BW Africa/Gaborone
        268 SZ Africa/Mbabane
        269 KM Indian/Comoro
        27 ZA Africa/Johannesburg
        290 SH,TA Atlantic/St_Helena
        291 ER Africa/Asmara
        297 AW America/Aruba
        298 FO Atlantic/Faroe
        299 GL
        30 GR Europe/Athens
        31 NL Europe/Amsterdam
        32 BE Europe/Brussels
        33 FR Europe/Paris
        34 ES Europe/Madrid
        350 GI Europe/Gibraltar
        351 PT
        352 LU Europe/Luxembourg
        353 IE Europe/Dublin
        354 IS Atlantic/Reykjavik
        355 AL Europe/Tirane
        356 MT Europe/Malta
        357 CY Asia/Nicosia
        358 FI,AX Europe/Helsinki
        359 BG Europe/Sofia
        36 HU Europe/Budapest
        370 LT Europe/Vilnius
        371 LV Europe/Riga
        372 EE Europe/Tallinn
        373 MD Europe/Chisinau
        374 AM Asia/Yerevan
        375 BY Europe/Minsk
        376 AD Europe/Andorra
        377 MC Europe/Monaco
        378 SM Europe/San_Marino
        380 UA
        381 RS Europe/Belgrade
        382 ME Europe/Podgorica
        383 XK Europe/Belgrade
        385 HR Europe/Zagreb
        386 SI Europe/Ljubljana
        387 BA Europe/Sarajevo
        389 MK Europe/Skopje
        39 IT,VA Europe/Rome
        40 RO Europe/Bucharest
        41 CH Europe/Zurich
        420 CZ Europe/Prague
        421 SK Europe/Bratislava
        423 LI Europe/Vaduz
        43 AT Europe/Vienna
        44 GB,GG,IM,JE Europe/London
        45 DK Europe/Copenhagen
        46 SE Europe/Stockholm
        47 NO,SJ Europe/Oslo
        48 PL Europe/Warsaw
        49 DE Europe/Berlin
        500 FK Atlantic/Stanley
        501 BZ America/Belize
        502 GT America/Guatemala
        503 SV America/El_Salvador
        504 HN America/Tegucigalpa
        505 NI America/Managua
        506 CR America/Costa_Rica
        507 PA America/Panama
        508 PM America/Miquelon
        509 HT America/Port-au-Prince
        51 PE America/Lima
        52 MX
        53 CU America/Havana
        54 AR America/Argentina/Buenos_Aires
        55 BR
        56 CL
        57 CO America/Bogota
        58 VE America/Caracas
        590 GP,BL,MF America/Guadeloupe
        591 BO America/La_Paz
        592 GY America/Guyana
        593 EC
        594 GF America/Cayenne
        595 PY America/Asuncion
        596 MQ America/Martinique
        597 SR America/Paramaribo
        598 UY America/Montevideo
        599 CW,BQ America/Curacao
        60 MY Asia/Kuala_Lumpur
        61 AU,CX,CC
        62 ID
        63 PH Asia/Manila
        64 NZ
        65 SG Asia/Singapore
        66 TH Asia/Bangkok
        670 TL Asia/Dili
        672 NF,AQ
        673 BN Asia/Brunei
        674 NR Pacific/Nauru
        675 PG
        676 TO Pacific/Tongatapu
        677 SB Pacific/Guadalcanal
        678 VU Pacific/Efate
        679 FJ Pacific/Fiji
        680 PW Pacific/Palau
        681 WF Pacific/Wallis
        682 CK Pacific/Rarotonga
        683 NU Pacific/Niue
        685 WS Pacific/Apia
        686 KI
        687 NC Pacific/Noumea
        688 TV Pacific/Funafuti
        689 PF
        690 TK Pacific/Fakaofo
        691 FM
        692 MH
        81 JP Asia/Tokyo
        82 KR Asia/Seoul
        84 VN Asia/Ho_Chi_Minh
        850 KP Asia/Pyongyang
        852 HK Asia/Hong_Kong
        853 MO Asia/Macau
        855 KH Asia/Phnom_Penh
        856 LA Asia/Vientiane
        86 CN Asia/Shanghai
        880 BD Asia/Dhaka
        886 TW Asia/Taipei
        90 TR Europe/Istanbul
        91 IN Asia/Kolkata
        92 PK Asia/Karachi
        93 AF Asia/Kabul
        94 LK Asia/Colombo
        95 MM Asia/Yangon
        960 MV Indian/Maldives
        961 LB Asia/Beirut
        962 JO Asia/Amman
        963 SY Asia/Damascus
        964 IQ Asia/Baghdad
        965 KW Asia/Kuwait
        966 SA Asia/Riyadh
        967 YE Asia/Aden
        968 OM Asia/Muscat
        970 PS
        971 AE Asia/Dubai
        972 IL Asia/Jerusalem
        973 BH Asia/Bahrain
        974 QA Asia/Qatar
        975 BT Asia/Thimphu
        976 MN
        977 NP Asia/Kathmandu
        98 IR Asia/Tehran
        992 TJ Asia/Dushanbe
        993 TM Asia/Ashgabat
        994 AZ Asia/Baku
        995 GE Asia/Tbilisi
        996 KG Asia/Bishkek
        998 UZ Asia/Tashkent
        """

    static let callingCodes: [Int: CallingCode] = {
        var codes: [Int: CallingCode] = [:]
        for line in callingCodeTable.split(separator: "\n") {
            let parts = line.split(separator: " ")
            guard parts.count >= 2, let code = Int(parts[0]) else { continue }
            codes[code] = CallingCode(
                regions: parts[1].split(separator: ",").map(String.init), zone: parts.count > 2 ? String(parts[2]) : nil
            )
        }
        return codes
    }()

    private static let callingCodeByRegion: [String: Int] = {
        var byRegion: [String: Int] = [:]
        for (code, entry) in callingCodes {
            for region in entry.regions {
                byRegion[region] = code
            }
        }
        for region in nanpRegions.values {
            byRegion[region] = 1
        }
        return byRegion
    }()

    static func isCallingCode(_ code: Int) -> Bool {
        callingCodes[code] != nil
    }

    /// The calling code of an ISO region, or nil for a region not in the tables.
    static func callingCode(of region: String) -> Int? {
        callingCodeByRegion[region]
    }

    // MARK: - NANP regions

    /// NANP area codes outside the United States, with their region and zone (Canada's are in
    /// `canadianAreaCodes`, whose zones are in `TimeZoneGuess`).
    private static let nanpRegionTable = """
        242 BS America/Nassau
        246 BB America/Barbados
        264 AI America/Anguilla
        268 AG America/Antigua
        284 VG America/Tortola
        340 VI America/St_Thomas
        345 KY America/Cayman
        441 BM Atlantic/Bermuda
        473 GD America/Grenada
        649 TC America/Grand_Turk
        658 JM America/Jamaica
        664 MS America/Montserrat
        670 MP Pacific/Saipan
        671 GU Pacific/Guam
        684 AS Pacific/Pago_Pago
        721 SX America/Lower_Princes
        758 LC America/St_Lucia
        767 DM America/Dominica
        784 VC America/St_Vincent
        787 PR America/Puerto_Rico
        809 DO America/Santo_Domingo
        829 DO America/Santo_Domingo
        849 DO America/Santo_Domingo
        868 TT America/Port_of_Spain
        869 KN America/St_Kitts
        876 JM America/Jamaica
        939 PR America/Puerto_Rico
        """

    /// Canada's area codes, geographic and non-geographic (600).
    private static let canadianAreaCodes: Set<Int> = [
        204, 226, 236, 249, 250, 257, 263, 289, 306, 343, 354, 365, 367, 368, 382, 403, 416, 418, 428, 431, 437,
        438, 450, 468, 474, 506, 514, 519, 548, 579, 581, 584, 587, 600, 604, 613, 639, 647, 672, 683, 705, 709,
        742, 753, 778, 780, 782, 807, 819, 825, 867, 873, 879, 902, 905, 942,
    ]

    /// NANP area code to region, for every area code outside the United States.
    static let nanpRegions: [Int: String] = {
        var regions: [Int: String] = [:]
        for line in nanpRegionTable.split(separator: "\n") {
            let parts = line.split(separator: " ")
            if let code = Int(parts[0]) {
                regions[code] = String(parts[1])
            }
        }
        for code in canadianAreaCodes {
            regions[code] = "CA"
        }
        return regions
    }()

    /// NANP area code to zone, for the area codes outside the US and Canada.
    static let nanpTerritoryZones: [Int: String] = {
        var zones: [Int: String] = [:]
        for line in nanpRegionTable.split(separator: "\n") {
            let parts = line.split(separator: " ")
            if let code = Int(parts[0]) {
                zones[code] = String(parts[2])
            }
        }
        return zones
    }()

    static func region(of number: E164) -> String {
        switch number.countryCode {
        case 1:
            return nanpRegions[areaCode(of: number)] ?? "US"
        case 7:
            // Kazakhstan numbers are +7 6xx and +7 7xx.
            let first = number.nationalNumber.first
            return first == "6" || first == "7" ? "KZ" : "RU"
        default:
            return callingCodes[number.countryCode]?.regions.first ?? "ZZ"
        }
    }

    /// The area code of a NANP number.
    static func areaCode(of number: E164) -> Int {
        Int(number.nationalNumber.prefix(3)) ?? 0
    }
}
