"""The demo newsroom's desks, reporters and phrase banks, and the writer that composes stories.

Everything is invented here; nothing is copied from real journalism.
"""

from django.utils.text import slugify

# --- The newsroom ------------------------------------------------------------------------------

# (slug, name, description); the list order is the navigation order.
SECTIONS = [
    ("politics", "Politics", "Parliaments, town halls and the people who hold them to account."),
    ("business", "Business", "Money, work and trade: who earns, who pays and who decides."),
    (
        "environment",
        "Environment",
        "Rivers, mountains, mines and the communities that live beside them.",
    ),
    ("society", "Society", "Schools, hospitals, housing and everyday life across the region."),
    ("culture", "Culture", "Music, film, books and the heritage that outlasts governments."),
    (
        "investigations",
        "Investigations",
        "Long-form reporting that follows the money and the paper trail.",
    ),
    ("opinion", "Opinion", "Arguments from our columnists and guest writers, in their own words."),
]

# The countries covered, with what stories need to sound local: towns, rivers, the currency, the
# adjective, and first names and surnames to invent people from ("Male/Female" surname forms).
REGIONS = {
    "georgia": {
        "name": "Georgia",
        "adjective": "Georgian",
        "currency": "lari",
        "cities": [
            "Tbilisi",
            "Kutaisi",
            "Batumi",
            "Zugdidi",
            "Telavi",
            "Gori",
            "Rustavi",
            "Mestia",
        ],
        "rivers": ["Mtkvari", "Rioni", "Enguri", "Alazani"],
        "first_names": ["Nino", "Tamar", "Eka", "Mariam", "Levan", "Giorgi", "Davit", "Irakli"],
        "surnames": ["Beridze", "Kiknadze", "Lomidze", "Tsereteli", "Abashidze", "Gelashvili"],
    },
    "armenia": {
        "name": "Armenia",
        "adjective": "Armenian",
        "currency": "dram",
        "cities": ["Yerevan", "Gyumri", "Vanadzor", "Dilijan", "Goris", "Kapan", "Sevan"],
        "rivers": ["Hrazdan", "Debed", "Vorotan", "Arpa"],
        "first_names": ["Anahit", "Lusine", "Gayane", "Armine", "Aram", "Tigran", "Hayk", "Vahe"],
        "surnames": ["Petrosyan", "Avetisyan", "Hovhannisyan", "Sahakyan", "Melikyan", "Danielyan"],
    },
    "azerbaijan": {
        "name": "Azerbaijan",
        "adjective": "Azerbaijani",
        "currency": "manat",
        "cities": ["Baku", "Ganja", "Sheki", "Lankaran", "Quba", "Sumgait", "Mingachevir"],
        "rivers": ["Kura", "Araz", "Samur"],
        "first_names": ["Leyla", "Aysel", "Gunel", "Nigar", "Farid", "Rashad", "Elvin", "Orkhan"],
        "surnames": ["Huseynov/Huseynova", "Rzayev/Rzayeva", "Mammadli", "Guliyev/Guliyeva"],
    },
    "turkey": {
        "name": "Turkey",
        "adjective": "Turkish",
        "currency": "lira",
        "cities": ["Kars", "Trabzon", "Erzurum", "Artvin", "Rize", "Ardahan", "Istanbul"],
        "rivers": ["Coruh", "Aras", "Kura"],
        "first_names": ["Elif", "Zeynep", "Ayse", "Deniz", "Emre", "Murat", "Cem", "Burak"],
        "surnames": ["Kaya", "Demir", "Sahin", "Ozturk", "Arslan", "Kurt"],
    },
    "iran": {
        "name": "Iran",
        "adjective": "Iranian",
        "currency": "rial",
        "cities": ["Tabriz", "Ardabil", "Urmia", "Rasht", "Astara", "Tehran"],
        "rivers": ["Aras", "Sefid Rud", "Qezel Owzan"],
        "first_names": ["Shirin", "Maryam", "Parisa", "Laleh", "Reza", "Babak", "Kaveh", "Arash"],
        "surnames": ["Ahmadi", "Rahimi", "Moradi", "Karimi", "Jafari", "Sadeghi"],
    },
    "russia": {
        "name": "Russia",
        "adjective": "Russian",
        "currency": "rouble",
        "cities": ["Vladikavkaz", "Makhachkala", "Nalchik", "Sochi", "Derbent", "Krasnodar"],
        "rivers": ["Terek", "Sulak", "Kuban"],
        "first_names": ["Daria", "Olga", "Irina", "Anna", "Sergei", "Pavel", "Dmitri", "Ilya"],
        "surnames": ["Sokolov/Sokolova", "Orlov/Orlova", "Belov/Belova", "Zaitsev/Zaitseva"],
    },
    "kazakhstan": {
        "name": "Kazakhstan",
        "adjective": "Kazakh",
        "currency": "tenge",
        "cities": ["Almaty", "Astana", "Aktau", "Atyrau", "Shymkent", "Taraz"],
        "rivers": ["Ural", "Ili", "Syr Darya"],
        "first_names": [
            "Aigerim",
            "Dana",
            "Madina",
            "Saule",
            "Nurlan",
            "Arman",
            "Yerlan",
            "Daulet",
        ],
        "surnames": ["Seitkali", "Abenov/Abenova", "Zhakupov/Zhakupova", "Omarov/Omarova"],
    },
    "uzbekistan": {
        "name": "Uzbekistan",
        "adjective": "Uzbek",
        "currency": "som",
        "cities": ["Tashkent", "Samarkand", "Bukhara", "Nukus", "Fergana", "Khiva"],
        "rivers": ["Amu Darya", "Zarafshan", "Chirchiq"],
        "first_names": [
            "Dilnoza",
            "Nodira",
            "Malika",
            "Zarina",
            "Timur",
            "Jasur",
            "Bekzod",
            "Sardor",
        ],
        "surnames": [
            "Yusupov/Yusupova",
            "Rakhimov/Rakhimova",
            "Nazarov/Nazarova",
            "Umarov/Umarova",
        ],
    },
}

# (slug, name)
TAGS = [
    ("elections", "Elections"),
    ("courts", "Courts"),
    ("protests", "Protests"),
    ("media-freedom", "Media freedom"),
    ("public-budgets", "Public budgets"),
    ("corruption", "Corruption"),
    ("minority-rights", "Minority rights"),
    ("energy", "Energy"),
    ("tourism", "Tourism"),
    ("agriculture", "Agriculture"),
    ("labour", "Labour"),
    ("transport", "Transport"),
    ("cross-border-trade", "Cross-border trade"),
    ("water", "Water"),
    ("mining", "Mining"),
    ("climate", "Climate"),
    ("migration", "Migration"),
    ("education", "Education"),
    ("health", "Health"),
    ("housing", "Housing"),
    ("heritage", "Heritage"),
    ("film", "Film"),
    ("music", "Music"),
]
SECTION_TAGS = {
    "politics": [
        "elections",
        "courts",
        "protests",
        "media-freedom",
        "public-budgets",
        "minority-rights",
        "corruption",
    ],
    "business": [
        "energy",
        "tourism",
        "agriculture",
        "labour",
        "transport",
        "cross-border-trade",
        "public-budgets",
    ],
    "environment": ["water", "mining", "climate", "energy", "agriculture", "tourism"],
    "society": [
        "migration",
        "education",
        "health",
        "housing",
        "labour",
        "minority-rights",
        "transport",
    ],
    "culture": ["heritage", "film", "music", "tourism", "media-freedom", "education"],
    "investigations": [
        "corruption",
        "courts",
        "public-budgets",
        "mining",
        "energy",
        "housing",
        "transport",
    ],
    "opinion": [slug for slug, _name in TAGS],
}

# (slug, name, sections they mostly write for, biography). All of them are invented.
AUTHORS = [
    (
        "nino-kapanadze",
        "Nino Kapanadze",
        ["politics", "investigations"],
        "Nino Kapanadze covers politics and the courts from Tbilisi. Before joining the "
        "Courier she spent six years at a regional radio station in Kutaisi. She reads every "
        "budget line twice.",
    ),
    (
        "aram-hakobyan",
        "Aram Hakobyan",
        ["business", "society"],
        "Aram Hakobyan reports on work, wages and small business from Yerevan. He trained as "
        "an economist and still keeps a spreadsheet for everything.",
    ),
    (
        "leyla-huseynova",
        "Leyla Huseynova",
        ["environment", "business"],
        "Leyla Huseynova writes about energy, water and the Caspian coast. She grew up in "
        "Lankaran and has walked most of the Talysh foothills with a notebook.",
    ),
    (
        "levan-chikhradze",
        "Levan Chikhradze",
        ["investigations", "politics"],
        "Levan Chikhradze leads the Courier's investigations desk. He has spent a decade "
        "following public contracts through company registries in four countries.",
    ),
    (
        "ani-sargsyan",
        "Ani Sargsyan",
        ["culture", "society"],
        "Ani Sargsyan is the Courier's culture editor. She writes about music, books and the "
        "people who keep small venues open, and programmes a film club in Gyumri.",
    ),
    (
        "elif-yildirim",
        "Elif Yildirim",
        ["environment", "society"],
        "Elif Yildirim reports from Kars and the north-east of Turkey. Her work focuses on "
        "rivers, dams and the villages that depend on them.",
    ),
    (
        "farid-rzayev",
        "Farid Rzayev",
        ["society", "politics"],
        "Farid Rzayev covers education and health. He was a schoolteacher in Ganja for eight "
        "years before he started writing about schools instead.",
    ),
    (
        "daria-sokolova",
        "Daria Sokolova",
        ["society", "culture"],
        "Daria Sokolova writes about the North Caucasus and the Black Sea coast. She is "
        "interested in how families move, stay and come back.",
    ),
    (
        "aigerim-seitkali",
        "Aigerim Seitkali",
        ["business", "environment"],
        "Aigerim Seitkali reports on trade and resources from Almaty. She previously worked "
        "as a data analyst and builds most of the Courier's charts.",
    ),
    (
        "shirin-ahmadi",
        "Shirin Ahmadi",
        ["culture", "business"],
        "Shirin Ahmadi writes about trade, food and culture along the Aras. She translates "
        "poetry in her spare time.",
    ),
    (
        "timur-yusupov",
        "Timur Yusupov",
        ["business", "investigations"],
        "Timur Yusupov covers Central Asian economies from Tashkent. He follows cotton, "
        "railways and remittances, and the money that moves between them.",
    ),
    (
        "mariam-gelashvili",
        "Mariam Gelashvili",
        ["opinion"],
        "Mariam Gelashvili is the Courier's columnist. Her column appears every other Friday "
        "and argues, usually politely, with everyone.",
    ),
]

# --- Phrase banks ------------------------------------------------------------------------------
# Stories are composed from these: a topic per section, headlines and standfirsts around it, and a
# body assembled from interchangeable sentences. Fields in braces are filled per story.

TOPICS = {
    "politics": [
        "the new zoning plan",
        "bus fares",
        "the municipal budget",
        "the foreign funding bill",
        "the public assemblies law",
        "school closures",
        "the electoral code",
        "the appointment of judges",
        "the mayor's road contracts",
        "local council powers",
    ],
    "business": [
        "the hazelnut harvest",
        "rising rents",
        "new tax rules for freelancers",
        "the free economic zone",
        "a planned logistics hub",
        "remittances",
        "electricity tariffs",
        "the wine export season",
        "border queues for lorries",
        "a shortage of skilled workers",
        "the apricot trade",
        "small family hotels",
    ],
    "environment": [
        "a proposed dam on the {river}",
        "the open-pit mine on the ridge",
        "logging on the upper slopes",
        "dust from the tailings pond",
        "the shrinking {river}",
        "illegal dumping along the {river}",
        "a resort on protected land",
        "winter smog",
        "retreating glaciers",
        "a new quarry",
    ],
    "society": [
        "the social housing queue",
        "rural school closures",
        "a shortage of doctors",
        "pensions that do not cover rent",
        "care for people with disabilities",
        "emigration from the villages",
        "the cost of university",
        "the last night bus",
        "heating in winter",
        "a maternity ward closing",
        "daily water cuts",
    ],
    "culture": [
        "the old quarter's restoration",
        "a folk music revival",
        "the city's last cinema",
        "a new generation of writers",
        "the film festival",
        "a carpet-weaving cooperative",
        "a translation prize",
        "village choirs",
        "street art",
        "the museum's missing archive",
    ],
    "investigations": [
        "municipal parking contracts",
        "riverside land sales",
        "school canteen tenders",
        "bus route licences",
        "waste collection contracts",
        "hotel plots on public land",
        "road repair tenders",
        "the state hospital's equipment purchases",
        "mining licences",
        "emergency housing funds",
    ],
    "opinion": [
        "the way we talk about migration",
        "public broadcasting",
        "city planning",
        "the right to protest",
        "regional cooperation",
        "independent media",
        "the future of our rivers",
        "the next generation",
        "local democracy",
        "the cost of silence",
    ],
}

HEADLINES = {
    "politics": [
        "{city} council delays vote on {topic}",
        "Opposition demands inquiry into {topic}",
        "What is really at stake in the row over {topic}",
        "{adjective} MPs split over {topic} as deadline nears",
        "In {city}, voters say {topic} matters more than party lines",
        "Explainer: {topic} and why it divides {country}",
        "Protesters gather in {city} over {topic}",
        "Government backs down on {topic} after weeks of pressure",
    ],
    "business": [
        "{city} traders count the cost of {topic}",
        "Why {topic} worries small businesses in {country}",
        "Jobs promised, jobs delivered? {Topic} in {city} under scrutiny",
        "Five numbers that explain {topic}",
        "Families in {city} feel the squeeze from {topic}",
        "Who really profits from {topic}?",
        "{Topic}: {city} bets on a better season",
        "The {adjective} economy and the quiet story of {topic}",
    ],
    "environment": [
        "Villagers near {city} fear {topic}",
        "Inside the fight over {topic}",
        "{Topic} divides a mountain community",
        "Scientists warn about {topic}; officials see no cause for alarm",
        "Farmers along the {river} adapt to hotter, drier summers",
        "Photos: living with {topic}",
        "{city} residents take {topic} to court",
        "{Topic}: a year on, the view from {city}",
    ],
    "society": [
        "{Topic}: voices from {city}",
        "What {topic} means for {people}",
        "A week in {city} with the people who live with {topic}",
        "{People} in {city} speak out about {topic}",
        "In {city}, a neighbourhood organises around {topic}",
        "The long wait: {topic} in {country}",
        "{People} in {country} count the cost of {topic}",
    ],
    "culture": [
        "{Topic} brings the crowds back to {city}",
        "How {city} fell in love with {topic} again",
        "“{title}”, a new film set in {city}, opens the season",
        "Weekend in {city}: {topic} and what else to see",
        "Meet the people keeping {topic} alive",
        "{adjective} artists and {topic}: an uneasy partnership",
        "Behind {topic} in {city}, a story of family, exile and return",
    ],
    "investigations": [
        "Who won {topic} in {city}? Following the paper trail",
        "Public money, private profit: inside {topic}",
        "{n} contracts, one address: the story of {topic} in {city}",
        "Records show irregularities in {topic}; officials deny wrongdoing",
        "The firm behind {topic} has no staff and no website",
        "How we investigated {topic}",
        "Unanswered questions about {topic} in {country}",
    ],
    "opinion": [
        "Opinion: {city} deserves better than this",
        "Opinion: it is time to rethink {topic}",
        "We need to talk about {topic}",
        "Letter from {city}: {topic}, seen from the kitchen table",
        "The quiet cost of neglecting {topic}",
        "Why {country} should listen to its {people}",
    ],
}

# Titles of invented films for the culture desk.
TITLES = [
    "The Salt Road",
    "Winter in {city}",
    "Songs from the {river}",
    "The House on the Hill",
    "Letters to {city}",
    "A Quiet Border",
    "Apricot Summer",
    "The Last Ferry",
    "Stone and Water",
]

STANDFIRSTS = [
    "{Topic} has become a test for {country}. We went to {city} to find out what people there "
    "make of it.",
    "Officials say everything is under control. In {city}, {people} tell a different story.",
    "For months, {topic} has dominated conversations in {city}. Here is what we know, and what we "
    "still do not.",
    "The decision affects thousands of {people} across {country}, but few of them were consulted.",
    "A closer look at {topic}, from the council chamber to the kitchen table.",
    "We spoke to {people}, officials and independent experts about {topic}.",
    "{Topic} is nothing new in {city}. What has changed is who is paying for it.",
    "Promises were made in the capital. In {city}, people are still waiting to see them kept.",
]
OPINION_STANDFIRSTS = [
    "The debate about {topic} keeps missing the point, argues our columnist.",
    "We keep treating {topic} as someone else's problem. It is not.",
    "A view from {city} on {topic}, and on what the rest of {country} could learn from it.",
]

PEOPLE = [
    "pensioners",
    "young families",
    "returning migrants",
    "students",
    "nurses",
    "shop owners",
    "farmers",
    "teachers",
    "bus drivers",
    "displaced families",
    "small landlords",
    "volunteers",
]

LEDES = [
    "On a grey morning in {city}, the conversation at the bus stop turns, as it often does these "
    "days, to {topic}.",
    "For the {people} of {city}, {topic} is not an abstract policy question.",
    "When officials in {city} first announced their plans, few people paid attention.",
    "The first thing you notice in {city} is how quiet it is.",
    "It took {months} months, three public hearings and one angry petition for {topic} to reach "
    "the national news.",
    "Ask anyone in {city} about {topic} and you will get an opinion, usually a strong one.",
    "The story of {topic} begins, like many stories in {country}, with a promise.",
]
OPINION_LEDES = [
    "I grew up in {city}, and I have watched {topic} change it.",
    "Every few years, someone in the capital rediscovers {topic}.",
    "Let me start with a confession: I used to think {topic} was someone else's problem.",
    "There is a story people in {city} like to tell about {topic}, and it is not quite true.",
]
# Background and detail: the body's filler, drawn without repeats within a story.
FACTS = [
    "The issue has been building for years, but it came to a head this spring.",
    "Officials in the capital describe the situation as temporary.",
    "According to figures published by the local authorities, about {pct} per cent of households "
    "are affected.",
    "The budget set aside for the work is {money}, roughly {pct} per cent more than last year.",
    "Critics point out that similar promises were made before the last elections.",
    "Neighbouring regions have faced the same questions, with mixed results.",
    "The rules were changed quietly, in an amendment that ran to less than a page.",
    "Nobody disputes that something has to change; the argument is about who decides and who pays.",
    "In the past {months} months, residents have filed more than {n} complaints.",
    "At a meeting in the school hall last week, more than {crowd} people turned up, many of them "
    "{people}.",
    "Local journalists have tried for weeks to obtain the relevant documents, so far without "
    "success.",
    "The nearest alternative is {km} kilometres away, a long journey on roads that close in "
    "winter.",
    "Some of those affected have already left for {other_city} or further afield.",
    "The company involved did not respond to our questions by the time of publication.",
    "A spokesperson for the ministry said the matter was being reviewed.",
    "Documents seen by the Courier show that the plan was changed at least twice.",
    "For now, most of the work is done by volunteers, many of them {people}.",
    "Estimates of the cost range from {money} to more than twice that.",
    "The last comparable project, in {other_city}, ran {months} months over schedule.",
    "The {org} counted {n} similar cases across {country} last year.",
    "Few of the people we spoke to had seen the plans before they were approved.",
    "The figures are disputed, and the official ones have not been updated since {months} months "
    "ago.",
]
# Sentences that carry a link or a title; used at most once per story.
REFERENCES = [
    'The {org} <a href="https://example.org/reports/{link}">published its findings</a> earlier '
    "this year.",
    'A <a href="https://example.org/data/{link}">dataset compiled by the {org}</a> tells a similar '
    "story.",
    "A report by the {org}, titled <em>{report}</em>, reached the same conclusion.",
]
QUOTES = [
    "Nobody asked us before the decision was made",
    "We are not against development, we are against being ignored",
    "The numbers simply do not add up",
    "People here have learnt to rely on each other",
    "We will keep going to the hearings until someone listens",
    "It is easy to make promises in the capital",
    "My children will not stay here if nothing changes",
    "We have been told to wait. We have been waiting for ten years",
    "This is not about politics, it is about water and bread",
    "Everyone knows how these contracts work, but nobody wants to say it",
    "We did everything by the book, and the book changed",
    "There is a lot of goodwill here, but goodwill does not pay the bills",
]
COUNTER_QUOTES = [
    "The process was transparent and open to everyone",
    "These concerns are understandable, but they are exaggerated",
    "We are working on a solution and will present it soon",
    "Every project like this has critics at the start",
]
QUOTE_SENTENCES = [
    "“{quote},” says {person}, {role} in {city}.",
    "“{quote},” {person}, {role}, told the Courier.",
    "{person}, {role}, puts it simply: “{quote}.”",
]
COUNTERS = [
    "Not everyone agrees.",
    "Officials reject that account.",
    "Supporters of the plan say the criticism is overblown.",
    "The local administration insists it followed the rules.",
]
ROLES = [
    "a schoolteacher",
    "a local councillor",
    "a shop owner",
    "a retired engineer",
    "a farmer",
    "a lawyer who advises residents",
    "a nurse",
    "a student",
    "a taxi driver",
    "a pensioner",
    "a bakery owner",
    "a social worker",
]
OFFICIAL_ROLES = [
    "a spokesperson for the city hall",
    "the deputy governor",
    "a ministry adviser",
    "the project's manager",
]
OUTLOOKS = [
    "The next hearing is scheduled for the autumn.",
    "Whatever happens, the people of {city} say they will keep watching closely.",
    "The Courier will continue to follow the story.",
    "For now, {people} in {city} are waiting, as they have learnt to.",
    "A decision is expected within {months} months.",
    "What happens in {city} is likely to be watched closely across {country}.",
]
OPINION_OUTLOOKS = [
    "We can do better. We have done better before.",
    "The choice is ours, and we are running out of time to make it.",
    "{city} has surprised the capital before. It can do so again.",
]
SUBHEADINGS = [
    "What the numbers say",
    "A long way to go",
    "Who decides",
    "Waiting for answers",
    "Money and power",
    "Life on the ground",
    "What happens next",
    "A familiar pattern",
    "Voices from {city}",
    "The view from the capital",
    "Behind closed doors",
    "An uncertain future",
]
ORGANISATIONS = [
    "Two Rivers Institute",
    "Southern Valleys Residents' Union",
    "Ridgeline Data Collective",
    "Open Ledger Project",
    "Mountain Communities Network",
    "Highland Law Clinic",
]
REPORTS = [
    "Counting the Cost",
    "Water for Whom?",
    "The Missing Millions",
    "Left Behind",
    "A Decade of Promises",
]

# Hero captions: what the picture shows, loosely, then why it is there. By picture kind.
CAPTION_SCENES = {
    "mountains": [
        "The mountains above {city}",
        "The valley upstream of {city}",
        "The {river} valley",
    ],
    "town": ["The old town of {city}", "Rooftops in {city}", "The hills around {city}"],
    "lake": ["A reservoir near {city}", "The lake outside {city}"],
    "steppe": ["The road to {city}", "Open country outside {city}"],
    "city": ["{city} at the end of the day", "The centre of {city}", "The riverside in {city}"],
    "village": ["A village near {city}", "Farmland outside {city}"],
    "coast": ["The coast near {city}", "The shore south of {city}"],
}
CAPTION_ENDINGS = [
    "Residents say they were not consulted.",
    "The area is at the centre of the dispute over {topic}.",
    "Local officials say work will begin next year.",
    "File photo.",
    "Many families here depend on seasonal work.",
]

# --- Stories -----------------------------------------------------------------------------------


class Deck:
    """Draws from a list without repeating until every item has been drawn once."""

    def __init__(self, rng, items):
        self.rng, self.items, self.pile = rng, items, []

    def draw(self):
        if not self.pile:
            self.pile = list(self.items)
            self.rng.shuffle(self.pile)
        return self.pile.pop()


def fill(template, context):
    """`template` with its fields filled, starting with a capital letter."""
    text = template.format_map(context)
    return text[:1].upper() + text[1:]


def invent_person(rng, region):
    first = rng.choice(region["first_names"])
    male, _, female = rng.choice(region["surnames"]).partition("/")
    # First names are listed women first, then men, four each.
    female_name = region["first_names"].index(first) < len(region["first_names"]) // 2
    return f"{first} {female if female_name and female else male}"


class StoryWriter:
    """Composes headline, standfirst, body and caption of invented stories from the phrase banks."""

    def __init__(self, rng):
        self.rng = rng
        self.quote_sentences = Deck(rng, QUOTE_SENTENCES)
        self.speakers = set()  # Who has been quoted in the story being written.

    def context(self, section_slug, region):
        """The facts one story is built around: where, what about, who, how much."""
        rng = self.rng
        city = rng.choice(region["cities"])
        context = {
            "city": city,
            "other_city": rng.choice([c for c in region["cities"] if c != city]),
            "country": region["name"],
            "adjective": region["adjective"],
            "river": rng.choice(region["rivers"]),
            "people": rng.choice(PEOPLE),
            "org": rng.choice(ORGANISATIONS),
            "report": rng.choice(REPORTS),
            "months": rng.choice(["six", "eight", "nine", "twelve", "eighteen"]),
            "n": rng.choice([12, 14, 17, 23, 31, 40, 56]),
            "crowd": rng.choice([60, 85, 120, 200, 340]),
            "pct": rng.randint(8, 64),
            "km": rng.randint(15, 140),
        }
        money = f"{rng.choice([1.2, 3.5, 4.8, 12, 27, 40, 150])} million {region['currency']}"
        # Now and then a figure is set in bold, as editors do with the number that matters.
        context["money"] = f"<strong>{money}</strong>" if rng.random() < 0.3 else money
        context["topic"] = rng.choice(TOPICS[section_slug]).format_map(context)
        context["title"] = rng.choice(TITLES).format_map(context)
        context["link"] = slugify(f"{context['org']} {context['report']}")
        for key in ("topic", "people"):
            context[key.capitalize()] = context[key][:1].upper() + context[key][1:]
        return context

    def headline(self, section_slug, context):
        return fill(self.rng.choice(HEADLINES[section_slug]), context)

    def standfirst(self, section_slug, context):
        choices = OPINION_STANDFIRSTS if section_slug == "opinion" else STANDFIRSTS
        return fill(self.rng.choice(choices), context)

    def quote(self, context, region, quote, role):
        """A quoted sentence from someone invented who has not spoken yet in this story."""
        person = invent_person(self.rng, region)
        while person in self.speakers:
            person = invent_person(self.rng, region)
        self.speakers.add(person)
        template = self.quote_sentences.draw()
        return fill(template, {**context, "quote": quote, "person": person, "role": role})

    def body(self, section_slug, context, region):
        """5 to 12 paragraphs with one or two subheadings, perhaps a pull quote and a reference."""
        rng = self.rng
        opinion = section_slug == "opinion"
        facts, quotes, roles = Deck(rng, FACTS), Deck(rng, QUOTES), Deck(rng, ROLES)
        self.speakers = set()
        count = rng.randint(5, 12)

        def sentences(k):
            return [fill(facts.draw(), context) for _ in range(k)]

        paragraphs = [
            [
                fill(rng.choice(OPINION_LEDES if opinion else LEDES), context),
                *sentences(rng.randint(1, 2)),
            ]
        ]
        for _ in range(count - 2):
            kind = rng.choices(["facts", "quote", "counter"], weights=[5, 3, 1])[0]
            if kind == "quote":
                quote = self.quote(context, region, quotes.draw(), roles.draw())
                paragraphs.append([quote, *sentences(rng.randint(0, 1))])
            elif kind == "counter":
                quote = self.quote(
                    context, region, rng.choice(COUNTER_QUOTES), rng.choice(OFFICIAL_ROLES)
                )
                paragraphs.append([rng.choice(COUNTERS), quote])
            else:
                paragraphs.append(sentences(rng.randint(2, 3)))
        ending = OPINION_OUTLOOKS if opinion else OUTLOOKS
        paragraphs.append([*sentences(rng.randint(0, 1)), fill(rng.choice(ending), context)])
        if rng.random() < 0.35:
            middle = paragraphs[rng.randint(1, count - 2)]
            middle.append(fill(rng.choice(REFERENCES), context))

        blocks = [f"<p>{' '.join(paragraph)}</p>" for paragraph in paragraphs]
        # Subheadings go between paragraphs, never first or last; inserting from the back keeps
        # the earlier positions valid.
        headings = rng.sample(SUBHEADINGS, 1 if count < 8 else rng.randint(1, 2))
        positions = sorted(rng.sample(range(2, count - 1), len(headings)), reverse=True)
        for position, heading in zip(positions, headings, strict=True):
            blocks.insert(position, f"<h2>{fill(heading, context)}</h2>")
        if rng.random() < 0.3:
            pull_quote = f"<blockquote><p>“{quotes.draw()}.”</p></blockquote>"
            blocks.insert(rng.randint(2, len(blocks) - 1), pull_quote)
        if not opinion and rng.random() < 0.15:
            blocks[0] = blocks[0].replace(
                "<p>",
                "<p><em>This story was reported with the help of the Courier's members.</em> ",
                1,
            )
        return "\n".join(blocks)

    def caption(self, picture_kind, context):
        if self.rng.random() < 0.15:
            return ""
        scene = fill(self.rng.choice(CAPTION_SCENES[picture_kind]), context)
        return f"{scene}. {fill(self.rng.choice(CAPTION_ENDINGS), context)}"


# --- Russian editions ---------------------------------------------------------------------------

# The Russian edition of a story is written anew, not machine-translated: a shorter text from its
# own phrase bank, about the same country.
RUSSIAN_PLACES = {
    "georgia": ("Грузия", "Грузии", "Тбилиси"),
    "armenia": ("Армения", "Армении", "Ереване"),
    "azerbaijan": ("Азербайджан", "Азербайджане", "Баку"),
    "turkey": ("Турция", "Турции", "Анкаре"),
    "iran": ("Иран", "Иране", "Тегеране"),
    "russia": ("Россия", "России", "Москве"),
    "kazakhstan": ("Казахстан", "Казахстане", "Астане"),
    "uzbekistan": ("Узбекистан", "Узбекистане", "Ташкенте"),
}
# The Russian names of the sections (with their descriptions) and tags, by slug; the regions'
# come from RUSSIAN_PLACES.
RUSSIAN_SECTIONS = {
    "politics": ("Политика", "Парламенты, мэрии и те, кто требует от них отчёта."),
    "business": (
        "Экономика",
        "Деньги, работа и торговля: кто зарабатывает, кто платит, кто решает.",
    ),
    "environment": ("Природа", "Реки, горы, рудники и люди, которые живут рядом с ними."),
    "society": ("Общество", "Школы, больницы, жильё и повседневная жизнь региона."),
    "culture": ("Культура", "Музыка, кино, книги и наследие, которое переживает правительства."),
    "investigations": ("Расследования", "Большие материалы: по следу денег и документов."),
    "opinion": ("Мнения", "Доводы наших колумнистов и приглашённых авторов, их словами."),
}
RUSSIAN_TAGS = {
    "elections": "Выборы",
    "courts": "Суды",
    "protests": "Протесты",
    "media-freedom": "Свобода СМИ",
    "public-budgets": "Бюджеты",
    "corruption": "Коррупция",
    "minority-rights": "Права меньшинств",
    "energy": "Энергетика",
    "tourism": "Туризм",
    "agriculture": "Сельское хозяйство",
    "labour": "Труд",
    "transport": "Транспорт",
    "cross-border-trade": "Приграничная торговля",
    "water": "Вода",
    "mining": "Добыча",
    "climate": "Климат",
    "migration": "Миграция",
    "education": "Образование",
    "health": "Здоровье",
    "housing": "Жильё",
    "heritage": "Наследие",
    "film": "Кино",
    "music": "Музыка",
}
RUSSIAN_HEADLINES = [
    "Что происходит в {where}: {topic}",
    "{Topic}: голоса жителей",
    "В {capital} обсуждают {topic}",
    "{Topic} — вопросы без ответов",
    "{Topic} в {where}: почему это важно",
]
RUSSIAN_TOPICS = [
    "новые правила для фермеров",
    "нехватка врачей",
    "строительство плотины",
    "цены на жильё",
    "закрытие сельских школ",
    "свобода прессы",
    "трудовая миграция",
    "реформа пенсий",
]
RUSSIAN_STANDFIRSTS = [
    "Мы поговорили с жителями, чиновниками и независимыми экспертами.",
    "Официальные цифры не обновлялись много месяцев. Мы попытались разобраться сами.",
    "Решение касается тысяч семей, но их мнения никто не спрашивал.",
]
RUSSIAN_SENTENCES = [
    "По данным местных властей, проблема затрагивает каждую третью семью.",
    "Независимые эксперты называют эти цифры заниженными.",
    "Журналисты издания несколько недель пытались получить документы.",
    "Жители говорят, что узнали о решении из новостей.",
    "В министерстве на запросы не ответили.",
    "Похожие споры уже шли в соседних странах.",
    "Многие семьи зависят от сезонной работы за границей.",
    "Активисты собрали подписи и обратились в суд.",
    "Официальный отчёт обещают опубликовать в следующем году.",
]
RUSSIAN_SUBHEADINGS = ["Что говорят власти", "Цифры и факты", "Что дальше"]
CORRECTIONS = [
    "An earlier version of this story misspelled the name of the deputy minister.",
    "An earlier version gave the wrong date for the council vote; it was held on a Tuesday.",
    "This story has been updated with the ministry's response, received after publication.",
    "An earlier version overstated the number of households affected.",
    "A photo caption has been corrected: the picture was taken in a neighbouring village.",
]
RUSSIAN_CAPTIONS = [
    "Жители говорят, что с ними не советовались.",
    "Архивное фото.",
    "Местные власти обещают начать работы в следующем году.",
]


class RussianWriter:
    """Composes the Russian edition of a story about a country, from the bank above."""

    def __init__(self, rng):
        self.rng = rng

    def edition(self, region_slug):
        """(headline, standfirst, body, caption) of a Russian story about `region_slug`."""
        rng = self.rng
        _name, where, capital = RUSSIAN_PLACES[region_slug]
        topic = rng.choice(RUSSIAN_TOPICS)
        context = {"where": where, "capital": capital, "topic": topic, "Topic": topic.capitalize()}
        headline = rng.choice(RUSSIAN_HEADLINES).format_map(context)
        headline = headline[:1].upper() + headline[1:]
        paragraphs = [
            " ".join(rng.sample(RUSSIAN_SENTENCES, rng.randint(2, 3)))
            for _ in range(rng.randint(4, 6))
        ]
        blocks = [f"<p>{paragraph}</p>" for paragraph in paragraphs]
        blocks.insert(2, f"<h2>{rng.choice(RUSSIAN_SUBHEADINGS)}</h2>")
        return (
            headline,
            rng.choice(RUSSIAN_STANDFIRSTS),
            "".join(blocks),
            rng.choice(RUSSIAN_CAPTIONS),
        )
