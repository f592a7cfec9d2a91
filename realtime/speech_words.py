"""The word lists behind the speech normalizer and the sentence splitter, kept in one place.

The splitter and the normalizer must agree: every abbreviation the splitter refuses to cut after is one the
normalizer expands (or spells), so the voice never sees a period it would take for a sentence end.
"""

from __future__ import annotations

# Titles before a name: never a sentence end, always expanded. "St." is decided by context (Saint / Street).
TITLES = {
    "mr": "Mister", "mrs": "Missus", "ms": "Miz", "dr": "Doctor", "prof": "Professor", "sr": "Senior",
    "jr": "Junior", "sgt": "Sergeant", "capt": "Captain", "lt": "Lieutenant", "col": "Colonel",
    "gen": "General", "gov": "Governor", "sen": "Senator", "rep": "Representative", "rev": "Reverend",
    "hon": "Honorable", "pres": "President", "cpl": "Corporal", "pvt": "Private", "maj": "Major",
    "cmdr": "Commander", "adm": "Admiral", "supt": "Superintendent", "mt": "Mount", "ft": "Fort",
    "fr": "Father", "messrs": "Messieurs", "mme": "Madame", "mlle": "Mademoiselle",
}

# Abbreviations said as words; their period is a sentence end only before a capital (see sentences.py).
WORDS = {
    "vs": "versus", "etc": "et cetera", "e.g": "for example", "i.e": "that is", "cf": "compare",
    "approx": "approximately", "fig": "figure", "figs": "figures", "ave": "Avenue", "blvd": "Boulevard",
    "rd": "Road", "ln": "Lane", "hwy": "Highway", "apt": "apartment", "dept": "department",
    "univ": "university", "inc": "Incorporated", "ltd": "Limited", "corp": "Corporation", "co": "Company",
    "bros": "Brothers", "est": "established", "ext": "extension", "tel": "telephone", "vol": "volume",
    "vols": "volumes", "ch": "chapter", "pp": "pages", "p": "page", "no": "number", "nos": "numbers",
    "viz": "namely", "al": "al", "ca": "circa", "max": "maximum", "min": "minimum",
    "tsp": "teaspoons", "tbsp": "tablespoons", "oz": "ounces", "lb": "pounds", "lbs": "pounds",
    "mins": "minutes", "hrs": "hours", "hr": "hours", "sec": "seconds", "secs": "seconds",
    "z.b": "zum Beispiel", "u.a": "unter anderem", "d.h": "das heißt", "bzw": "beziehungsweise",
    "jan": "January", "feb": "February", "mar": "March", "apr": "April", "jun": "June", "jul": "July",
    "aug": "August", "sep": "September", "sept": "September", "oct": "October", "nov": "November",
    "dec": "December", "mon": "Monday", "tue": "Tuesday", "tues": "Tuesday", "wed": "Wednesday",
    "thu": "Thursday", "thurs": "Thursday", "fri": "Friday", "sat": "Saturday", "sun": "Sunday",
}
# Those that, after a number, mean a unit ("20 min." is minutes, "min. 5" a minimum).
UNIT_AFTER_NUMBER = {"min": ("minute", "minutes"), "tsp": ("teaspoon", "teaspoons"),
                     "tbsp": ("tablespoon", "tablespoons"), "oz": ("ounce", "ounces"), "lb": ("pound", "pounds"),
                     "lbs": ("pound", "pounds"), "hr": ("hour", "hours"), "hrs": ("hour", "hours"),
                     "sec": ("second", "seconds"), "secs": ("second", "seconds"),
                     "mins": ("minute", "minutes")}

# Never a sentence end, whatever follows (the splitter's list); "no" only before a digit ("No. 5").
NEVER_END = set(TITLES) | {"st", "vs", "e.g", "i.e", "cf", "approx", "fig", "figs", "viz", "z.b", "u.a", "d.h",
                           "bzw", "ca", "ext", "tel", "vol", "ch", "pp"}
# A sentence end only when a capital follows: "at 5 p.m. Bring snacks" vs "5 p.m. tomorrow".
END_IF_CAPITAL = (set(WORDS) - NEVER_END - {"no", "p"}) | {"a.m", "p.m", "u.s", "u.k", "u.s.a", "ph.d", "m.d",
                                                           "b.a", "m.a", "b.c", "a.d", "d.c", "u.n", "e.u"}

# Units read after a number: (singular, plural). Matched case-sensitively: "m" is metres, "M" is not.
UNITS = {
    "km": ("kilometer", "kilometers"), "m": ("meter", "meters"), "cm": ("centimeter", "centimeters"),
    "mm": ("millimeter", "millimeters"), "mi": ("mile", "miles"), "ft": ("foot", "feet"),
    "yd": ("yard", "yards"), "kg": ("kilogram", "kilograms"), "g": ("gram", "grams"),
    "mg": ("milligram", "milligrams"), "lb": ("pound", "pounds"), "lbs": ("pound", "pounds"),
    "oz": ("ounce", "ounces"), "l": ("liter", "liters"), "L": ("liter", "liters"), "ml": ("milliliter", "milliliters"),
    "mL": ("milliliter", "milliliters"), "km/h": ("kilometer per hour", "kilometers per hour"),
    "kph": ("kilometer per hour", "kilometers per hour"), "mph": ("mile per hour", "miles per hour"),
    "m/s": ("meter per second", "meters per second"), "h": ("hour", "hours"), "hr": ("hour", "hours"),
    "hrs": ("hour", "hours"), "min": ("minute", "minutes"), "mins": ("minute", "minutes"),
    "s": ("second", "seconds"), "sec": ("second", "seconds"), "ms": ("millisecond", "milliseconds"),
    "KB": ("kilobyte", "kilobytes"), "kB": ("kilobyte", "kilobytes"), "MB": ("megabyte", "megabytes"),
    "GB": ("gigabyte", "gigabytes"), "TB": ("terabyte", "terabytes"), "Hz": ("hertz", "hertz"),
    "kHz": ("kilohertz", "kilohertz"), "MHz": ("megahertz", "megahertz"), "GHz": ("gigahertz", "gigahertz"),
    "W": ("watt", "watts"), "kW": ("kilowatt", "kilowatts"), "kWh": ("kilowatt hour", "kilowatt hours"),
    "V": ("volt", "volts"), "mAh": ("milliamp hour", "milliamp hours"), "tsp": ("teaspoon", "teaspoons"),
    "tbsp": ("tablespoon", "tablespoons"), "cal": ("calorie", "calories"), "kcal": ("kilocalorie", "kilocalories"),
}

CURRENCIES = {"$": ("dollar", "dollars", "cent", "cents"), "£": ("pound", "pounds", "penny", "pence"),
              "€": ("euro", "euros", "cent", "cents"), "¥": ("yen", "yen", "", ""),
              "₹": ("rupee", "rupees", "paisa", "paise")}
CURRENCY_CODES = {"USD": "$", "EUR": "€", "GBP": "£", "JPY": "¥", "INR": "₹"}
SCALES = {"k": "thousand", "K": "thousand", "thousand": "thousand", "m": "million", "M": "million",
          "million": "million", "mn": "million", "b": "billion", "bn": "billion", "B": "billion",
          "billion": "billion", "trillion": "trillion", "tn": "trillion"}

# Words after which a four-digit number is a year ("in 1999"), not a count ("1999 people").
YEAR_CUES = {"in", "since", "of", "by", "until", "till", "from", "to", "before", "after", "year", "circa",
             "around", "summer", "winter", "spring", "autumn", "fall", "early", "late", "mid", "during", "the",
             "between", "and", "through", "january", "february", "march", "april", "may", "june", "july",
             "august", "september", "october", "november", "december"}
MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
          "November", "December"]

# Top-level domains that make "word.tld" a web address to read as "word dot tld".
TLDS = {"com", "org", "net", "edu", "gov", "io", "ai", "dev", "app", "info", "biz", "me", "co", "uk", "de",
        "fr", "us", "ca", "au", "jp", "eu", "nl", "ch", "it", "es", "se", "no", "ly", "tv", "gg", "xyz", "site",
        "cloud", "tech", "page", "blog", "in", "ru", "br", "mx", "nz", "ie", "be", "at", "pl", "cz", "fi", "dk"}

# Words a first phrase must not end on: cutting after them leaves a dangling, falling "and".
DANGLING = {"and", "but", "or", "nor", "so", "yet", "the", "a", "an", "to", "of", "in", "on", "at", "for",
            "with", "from", "by", "as", "that", "which", "who", "if", "because", "than", "my", "your", "his",
            "her", "its", "our", "their", "this", "these", "those", "is", "are", "was", "were", "be", "i",
            "we", "you", "it", "not", "very", "about", "into", "over", "some", "any", "no", "every", "then"}
