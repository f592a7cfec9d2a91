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

# ----- end of turn (realtime/turn_text.py) and backchannels (realtime/barge_in.py) -----
# A turn that stops on one of these is not over: "I need milk, eggs, and", "I want to go to the".
# (Not the splitter's DANGLING above: prepositions are judged apart here, by whether the turn is a question.)
TURN_DANGLING = {
    "and", "or", "but", "nor", "because", "cause", "if", "than", "although", "though", "unless", "until",
    "whereas", "whether", "plus", "like", "a", "an", "the", "my", "your", "our", "their", "its", "every",
    "very", "also",
    "um", "umm", "uh", "uhh", "er", "erm", "hmm", "ah", "eh",
}
# Prepositions: dangling in a statement ("I want to go to"), not in a question ("Where are you from?").
# ("in", "on", "over" are left out: "come in", "turn it on", "it's over" end sentences.)
PREPOSITIONS = {"to", "of", "at", "for", "with", "from", "by", "about", "into", "onto", "between", "through",
                "towards", "toward", "without", "across", "per", "against", "during", "among", "upon", "as"}
# "I'd love to", "I have to": a complete answer, the verb is understood.
TO_COMPLETE = {"love", "like", "want", "have", "need", "going", "got", "try", "used", "able", "ought", "mean",
               "hope", "plan", "has", "had", "wanted", "meant", "supposed"}
# "that" after one of these opens a clause still to come ("I was thinking that", "I hope that"); after others it
# is a pronoun and the sentence is whole ("I know that", "I did that").
THAT_CLAUSE = {"think", "thinking", "thought", "hope", "hoping", "guess", "suppose", "believe", "wish",
               "feel", "feeling", "realize", "realized", "realise", "realised", "saying", "telling", "sure",
               "afraid", "glad", "noticed", "means", "seems", "figured", "wondering", "bet"}
# A copula or auxiliary at the end wants its complement ("my favourite films are"), unless a pronoun or a
# wh-word comes just before it ("that's what it is", "I know who you are", "here we are").
COPULAS = {"is", "are", "was", "were", "am", "be", "been", "being", "isn't", "aren't", "wasn't", "weren't",
           "gonna", "wanna", "gotta"}
PRONOUNS = {"i", "you", "he", "she", "it", "we", "they", "there", "here", "that", "this", "what", "who",
            "which", "where", "how", "why", "when", "so", "not", "one", "ones", "those", "these", "people"}
# Words that open a fragment still looking for its verb ("And so my fellow Americans", "But the thing").
OPENERS = {"and", "but", "so", "or", "because", "cause", "plus", "also", "then", "anyway", "well", "like"}
# Subordinate openers: "If it rains tomorrow" waits for its main clause (not in a question).
SUBORDINATE = {"if", "when", "whenever", "although", "though", "unless", "while", "once", "since", "before",
               "after", "as", "whereas"}
# Questions open with these: a stranded preposition ends them ("What is it for?").
QUESTION_OPENERS = {"what", "who", "whom", "whose", "which", "where", "when", "why", "how", "is", "are", "was",
                    "were", "do", "does", "did", "can", "could", "will", "would", "should", "shall", "may",
                    "might", "have", "has", "had", "am", "isn't", "aren't", "don't", "doesn't", "didn't",
                    "won't", "can't", "couldn't", "wouldn't", "shouldn't"}
# Verbs and auxiliaries common enough to tell a clause from a fragment without a tagger.
VERBS = {
    "is", "are", "was", "were", "am", "be", "been", "do", "does", "did", "have", "has", "had", "can", "could",
    "will", "would", "shall", "should", "may", "might", "must", "ask", "asked", "know", "knew", "think",
    "thought", "want", "wanted", "go", "goes", "went", "get", "got", "make", "made", "see", "saw", "come",
    "came", "take", "took", "give", "gave", "tell", "told", "say", "said", "need", "needed", "like", "liked",
    "love", "loved", "let", "put", "keep", "kept", "feel", "felt", "try", "tried", "call", "called", "find",
    "found", "look", "looked", "use", "used", "work", "worked", "play", "played", "run", "ran", "buy", "bought",
    "help", "start", "stop", "turn", "show", "mean", "meant", "hope", "guess", "bring", "brought",
    "set", "open", "close", "read", "write", "wrote", "pay", "paid", "remember", "forget", "forgot", "leave",
    "left", "live", "lived", "happen", "happened", "stay", "wait", "believe", "agree", "move", "sit", "stand",
}
# What a listener says to show they are listening, not taking the turn ("mhm", "okay", "right").
BACKCHANNELS = {
    "mhm", "mhmm", "mm", "mmm", "mm-hmm", "mm-hm", "mm-huh", "hmm", "hm", "uh-huh", "uhhuh", "uh", "huh", "um", "umm",
    "ah", "oh", "okay", "ok",
    "right", "yeah", "yep", "yes", "sure", "alright", "all right", "i see", "got it", "cool", "nice", "wow",
    "indeed", "exactly", "true", "totally", "great", "good", "ha", "haha", "aha",
}
