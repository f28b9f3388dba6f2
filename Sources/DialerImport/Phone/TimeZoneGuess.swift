/// The time zone a phone number is most likely in, for contacts whose list gives none.
///
/// Calling hours are the contact's local time (US: 8:00 to 21:00), so a contact without a zone
/// needs one, and the number is the only clue. The guess is deliberately conservative: where a
/// number does not settle the zone it returns nil, and the caller falls back to the campaign's
/// zone (or refuses to dial) rather than trusting a wrong one.
///
/// Coverage:
/// - **Single-zone countries** (all of Europe but Portugal, Russia and Ukraine; most of
///   Africa, Asia and Latin America): the country's zone, e.g. `+45` → `Europe/Copenhagen`,
///   `+49` → `Europe/Berlin`. Countries spanning zones (RU, KZ, MX, BR, CL, EC, ID, NZ, PT,
///   UA, CD, GL, MN, KI, FM, PF, PG, MH ...) give nil.
/// - **Spain**: `Europe/Madrid`, except Canary Islands fixed lines (`+34 822`, `828`, `922`,
///   `928`) → `Atlantic/Canary`. Mobiles are assumed to be on the mainland.
/// - **Australia**, by the area digit of fixed lines: 2 → `Australia/Sydney` (NSW, ACT),
///   3 → `Australia/Melbourne` (VIC; Tasmania keeps the same time), 7 → `Australia/Brisbane`
///   (QLD, no daylight saving), 8 → `Australia/Perth` for `86`/`89` (WA) and nil for `88`,
///   which mixes South Australia, the Northern Territory and Broken Hill. Mobiles (4) → nil.
/// - **NANP**, by area code, for about 300 area codes: every area code of the 100 most
///   populous and more, in all US zones (Eastern, Central, Mountain, Arizona, Pacific,
///   Alaska `907`, Hawaii `808`), Canada's provinces (Newfoundland, Atlantic, Eastern, Central,
///   Saskatchewan, Mountain, and `604` for Pacific) and the Caribbean and Pacific NANP
///   territories. An area code is listed only if its whole territory keeps one time, so these
///   give nil: Florida's panhandle (`850`, `448`), Indiana's `812`, `930`, `574`, Kentucky's
///   `270`, `364`, `606`, Tennessee's `423`, `931`, Michigan's `906`, Kansas' `620`, `785`,
///   Nebraska's `308`, the Dakotas (`605`, `701`), Texas' `432`, Idaho (`208`, `986`), Oregon's
///   `541`, `458`, Nevada's `775`, Arizona's `928` (the Navajo Nation keeps daylight saving),
///   British Columbia's province-wide `250`, `778`, `236`, `672`, `257`, north-western
///   Ontario's `807`, and the territories' `867`. Three listed codes have a documented small
///   exception: `907` excludes the western Aleutians (`America/Adak`), `709`/`879` the
///   Labrador coast on Atlantic time, `418`/`581`/`367` the Magdalen Islands and the Lower
///   North Shore on Atlantic time. Unknown or new area codes give nil.
public enum TimeZoneGuess {
    /// The IANA time zone identifier for `number`, or nil when the number does not settle it.
    public static func zone(for number: E164) -> String? {
        let national = number.nationalNumber
        switch number.countryCode {
        case 1:
            let areaCode = NumberingTables.areaCode(of: number)
            return nanpZones[areaCode] ?? NumberingTables.nanpTerritoryZones[areaCode]
        case 34:
            let canaryPrefixes = ["822", "828", "922", "928"]
            return canaryPrefixes.contains(where: national.hasPrefix) ? "Atlantic/Canary" : "Europe/Madrid"
        case 61:
            switch national.first {
            case "2": return "Australia/Sydney"
            case "3": return "Australia/Melbourne"
            case "7": return "Australia/Brisbane"
            case "8": return national.hasPrefix("86") || national.hasPrefix("89") ? "Australia/Perth" : nil
            default: return nil
            }
        default:
            return NumberingTables.callingCodes[number.countryCode]?.zone
        }
    }

    /// US and Canadian area codes by zone; see the coverage notes above.
    private static let nanpZoneTable = """
        America/New_York: 201 202 203 207 212 215 216 220 223 227 229 231 234 239 240 248 252 267 269 272 276 283 \
        301 302 304 305 313 315 321 326 330 332 336 339 347 351 352 380 386 401 404 407 410 412 413 419 434 436 440 \
        443 445 470 475 478 484 508 513 516 517 518 540 551 561 567 570 571 582 585 586 603 607 609 610 614 616 \
        617 631 640 645 646 656 667 678 679 680 681 686 689 703 704 706 716 717 718 724 727 732 734 740 743 754 757 \
        762 770 771 772 774 781 786 802 803 804 810 813 814 826 828 835 838 839 843 845 848 854 856 857 859 860 862 \
        863 864 865 878 904 908 910 912 914 917 919 929 934 937 941 943 947 948 954 959 973 978 980 984 989
        America/Indiana/Indianapolis: 260 317 463 765
        America/Kentucky/Louisville: 502
        America/Chicago: 205 210 214 217 218 219 224 225 228 235 251 254 256 262 274 281 309 312 314 316 318 319 320 \
        325 327 331 334 337 346 353 361 402 405 409 414 417 430 447 457 464 469 479 501 504 507 512 515 531 534 539 \
        557 563 572 573 580 601 608 612 615 618 629 630 636 641 651 659 660 662 682 708 712 713 715 726 730 731 737 \
        763 769 773 779 806 815 816 817 830 832 847 861 870 872 901 903 913 918 920 924 936 938 940 945 952 956 \
        972 975 979 985
        America/Denver: 303 307 385 406 435 505 575 719 720 801 915 970 983
        America/Phoenix: 480 520 602 623
        America/Los_Angeles: 206 209 213 253 279 310 323 341 350 360 408 415 424 425 442 503 509 510 530 559 562 \
        564 619 626 628 650 657 661 669 702 707 714 725 738 747 760 805 818 820 831 840 858 909 916 925 949 951 971
        America/Anchorage: 907
        Pacific/Honolulu: 808
        America/Toronto: 226 249 263 289 343 354 365 367 382 416 418 437 438 450 468 514 519 548 579 581 613 647 \
        683 705 742 753 819 873 905 942
        America/Winnipeg: 204 431 584
        America/Regina: 306 474 639
        America/Edmonton: 368 403 587 780 825
        America/Vancouver: 604
        America/Halifax: 782 902
        America/Moncton: 428 506
        America/St_Johns: 709 879
        """

    /// The table as (area code, zone) pairs, in table order; tests check it has no repeats.
    static let nanpZoneEntries: [(areaCode: Int, zone: String)] = nanpZoneTable.split(separator: "\n").flatMap {
        line -> [(areaCode: Int, zone: String)] in
        guard let colon = line.firstIndex(of: ":") else { return [] }
        let zone = String(line[..<colon])
        return line[line.index(after: colon)...].split(separator: " ").compactMap { code in
            Int(code).map { (areaCode: $0, zone: zone) }
        }
    }

    private static let nanpZones: [Int: String] = Dictionary(
        nanpZoneEntries.map { ($0.areaCode, $0.zone) }, uniquingKeysWith: { first, _ in first })
}
