"""Word material for the SYNTHETIC example data: instrument, codebook and interview sentences.

Kept apart from `ponzoni_eval.data.synthetic` so that the generator reads as
statistics and this file as text. Everything here is invented for the
example; the names are common first names chosen at random, not people in the
study.
"""

from __future__ import annotations

LIKERT_LABELS = "1=strongly disagree;2=disagree;3=neither agree nor disagree;4=agree;5=strongly agree"
EXPECTATION_LABELS = {1: "strengthen the organisation", 2: "bridge to migrant parents", 3: "both equally"}

SURVEY_ROLES = "professional;migrant_org"

# item_id, scale, wording_nl, wording_en, reverse_coded, roles, waves, level, offset (item difficulty around the scale mean)
ITEMS = [
    ("trust_1", "trust", "Ik vertrouw erop dat de andere partij haar afspraken nakomt.", "I trust the other party to keep its agreements.", False, SURVEY_ROLES, "", "ordinal", 0.10),
    ("trust_2", "trust", "De andere partij heeft het beste voor met de kinderen en ouders in de wijk.", "The other party has the best interests of the neighbourhood's children and parents at heart.", False, SURVEY_ROLES, "", "ordinal", 0.15),
    ("trust_3", "trust", "Ik kan open met de andere partij praten over moeilijke onderwerpen.", "I can talk openly with the other party about difficult subjects.", False, SURVEY_ROLES, "", "ordinal", -0.15),
    ("trust_4", "trust", "De andere partij respecteert onze manier van werken.", "The other party respects the way we work.", False, SURVEY_ROLES, "", "ordinal", -0.10),
    ("trust_5", "trust", "In contact met de andere partij ben ik op mijn hoede.", "In contact with the other party I am on my guard.", True, SURVEY_ROLES, "", "ordinal", 0.0),
    ("own_willingness_1", "own_willingness", "Ik wil graag samenwerken met de andere partij.", "I want to work together with the other party.", False, SURVEY_ROLES, "", "ordinal", 0.10),
    ("own_willingness_2", "own_willingness", "Ik ben bereid tijd te steken in de samenwerking.", "I am willing to invest time in the collaboration.", False, SURVEY_ROLES, "", "ordinal", -0.10),
    ("own_willingness_3", "own_willingness", "Samenwerking met de andere partij is belangrijk voor ons werk.", "Working with the other party matters for our work.", False, SURVEY_ROLES, "", "ordinal", 0.0),
    ("perceived_willingness_1", "perceived_willingness", "De andere partij wil graag met ons samenwerken.", "The other party wants to work with us.", False, SURVEY_ROLES, "", "ordinal", 0.10),
    ("perceived_willingness_2", "perceived_willingness", "De andere partij is bereid tijd te steken in de samenwerking.", "The other party is willing to invest time in the collaboration.", False, SURVEY_ROLES, "", "ordinal", -0.10),
    ("perceived_willingness_3", "perceived_willingness", "De andere partij vindt samenwerking met ons belangrijk.", "The other party thinks working with us matters.", False, SURVEY_ROLES, "", "ordinal", 0.0),
    ("expect_strengthen_1", "expect_strengthen", "Ik verwacht dat de samenwerking de migrantenorganisatie sterker maakt.", "I expect the collaboration to strengthen the migrant organisation.", False, SURVEY_ROLES, "", "ordinal", 0.10),
    ("expect_strengthen_2", "expect_strengthen", "De samenwerking moet de vrijwilligers van de organisatie ondersteunen en toerusten.", "The collaboration should support and equip the organisation's volunteers.", False, SURVEY_ROLES, "", "ordinal", -0.10),
    ("expect_bridge_1", "expect_bridge", "Ik verwacht dat de organisatie een brug vormt naar migrantenouders.", "I expect the organisation to act as a bridge to migrant parents.", False, SURVEY_ROLES, "", "ordinal", 0.10),
    ("expect_bridge_2", "expect_bridge", "De samenwerking moet vooral meer ouders bij het jeugdteam brengen.", "The collaboration should above all bring more parents to the youth team.", False, SURVEY_ROLES, "", "ordinal", -0.10),
    ("expectation_primary", "expectation_primary", "Wat is voor u het belangrijkste doel van de samenwerking?", "What is, for you, the main aim of the collaboration?", False, SURVEY_ROLES, "t0;t2", "nominal", 0.0),
    ("feeling_judged_1", "feeling_judged", "Ik heb het gevoel dat hulpverleners mij als ouder beoordelen.", "I feel that professionals judge me as a parent.", False, "migrant_org;parent", "", "ordinal", 0.10),
    ("feeling_judged_2", "feeling_judged", "Ik ben bang dat hulpverleners zich met mijn gezin gaan bemoeien als ik een vraag stel.", "I fear that professionals will interfere with my family if I ask a question.", False, "migrant_org;parent", "", "ordinal", -0.10),
    ("feeling_judged_3", "feeling_judged", "Bij hulpverleners heb ik het gevoel dat ik het nooit goed doe.", "With professionals I feel that I can never do it right.", False, "migrant_org;parent", "", "ordinal", 0.0),
    ("safe_space_1", "safe_space", "In onze bijeenkomsten kan iedereen zeggen wat hij denkt.", "In our meetings everyone can say what they think.", False, SURVEY_ROLES, "t1;t2", "ordinal", 0.10),
    ("safe_space_2", "safe_space", "In de samenwerking kijken we eerst naar wat de organisatie goed doet.", "In the collaboration we first look at what the organisation does well.", False, SURVEY_ROLES, "t1;t2", "ordinal", -0.10),
    ("safe_space_3", "safe_space", "Ik voel me veilig om in de samenwerking twijfels te bespreken.", "I feel safe to raise doubts within the collaboration.", False, SURVEY_ROLES, "t1;t2", "ordinal", 0.0),
]

# code, theme, construct, definition (English), definition (Dutch)
CODES = [
    ("we_they_thinking", "polarisation", "perception_gap", "Speaking of 'us' and 'them': the other side as a separate world.", "Spreken in 'wij' en 'zij': de andere partij als een aparte wereld."),
    ("other_side_unwilling", "polarisation", "perception_gap", "Belief that the other side does not want to collaborate.", "Het beeld dat de andere partij niet wil samenwerken."),
    ("feeling_judged_bad_parent", "barriers_to_help", "help_seeking", "Parents feel judged as bad parents by professionals.", "Ouders voelen zich door hulpverleners als slechte ouder beoordeeld."),
    ("fear_children_taken", "barriers_to_help", "help_seeking", "Fear that services will take children away.", "Angst dat hulpverlening de kinderen afpakt."),
    ("expect_strengthening", "expectations", "expectation_mismatch", "Expectation that the collaboration strengthens the migrant organisation.", "Verwachting dat de samenwerking de migrantenorganisatie versterkt."),
    ("expect_bridge", "expectations", "expectation_mismatch", "Expectation that the organisation is a bridge to migrant parents.", "Verwachting dat de organisatie een brug is naar migrantenouders."),
    ("hand_out_folder", "expectations", "expectation_mismatch", "The organisation asked (only) to distribute professionals' materials.", "De organisatie wordt (alleen) gevraagd materiaal van professionals te verspreiden."),
    ("referral_after_connection", "expectations", "expectation_mismatch", "Referring parents only once there is a personal connection.", "Pas doorverwijzen als er een persoonlijke band is."),
    ("listening_to_needs", "process", "trust", "Professionals start by asking and listening to the organisation's needs.", "Professionals beginnen met vragen naar en luisteren naar de behoeften van de organisatie."),
    ("shared_positive_goal", "process", "trust", "Jointly formulating and working on a positive goal.", "Samen een positief doel formuleren en eraan werken."),
    ("growing_trust", "process", "trust", "Mutual trust described as growing.", "Wederzijds vertrouwen dat groeit."),
    ("suspending_judgement", "safe_space", "safe_space", "Professionals temporarily suspend their judgement to make room for the organisation's strengths.", "Professionals stellen hun oordeel tijdelijk uit om ruimte te geven aan de kracht van de organisatie."),
    ("low_threshold_meeting_place", "safe_space", "safe_space", "An informal, low-threshold place where parents feel at ease (tea, conversation).", "Een informele, laagdrempelige plek waar ouders zich op hun gemak voelen (thee, gesprek)."),
    ("countering_negative_discourse", "safe_space", "safe_space", "Together countering the negative discourse and polarisation.", "Samen het negatieve discours en de polarisatie doorbreken."),
    ("help_seeking_youth_team", "help_seeking", "help_seeking", "Parents bring parenting questions to the youth team.", "Ouders komen met opvoedvragen bij het jeugdteam."),
]

# Probability that a document mentions the code: role -> (t0, t2 where the collaboration did not take off,
# t2 where it did). A site's t2 value lies between the last two by its `success` (0..1).
CODE_PREVALENCE = {
    # the built-in dissonance (with growing_trust below): by t2 interviewees everywhere talk less in 'we and
    # they', also where the collaboration did not take off, so that in poelenburg_b the interviews tell of growing
    # trust without contrary talk. (With 0.45-0.50 at t2 there, as first designed, we-they talk was about as
    # common as growing_trust and the interviews pointed one way in only 62% of 300 simulated draws; now in 98%.)
    "we_they_thinking": {"professional": (0.55, 0.15, 0.15), "migrant_org": (0.60, 0.20, 0.20), "parent": (0.50, 0.20, 0.20)},
    "other_side_unwilling": {"professional": (0.50, 0.40, 0.10), "migrant_org": (0.55, 0.45, 0.10), "parent": (0.20, 0.20, 0.10)},
    "feeling_judged_bad_parent": {"professional": (0.05, 0.05, 0.05), "migrant_org": (0.50, 0.45, 0.15), "parent": (0.65, 0.55, 0.15)},
    "fear_children_taken": {"professional": (0.10, 0.10, 0.05), "migrant_org": (0.35, 0.30, 0.10), "parent": (0.55, 0.50, 0.10)},
    "expect_strengthening": {"professional": (0.15, 0.20, 0.35), "migrant_org": (0.70, 0.60, 0.50), "parent": (0.10, 0.10, 0.10)},
    "expect_bridge": {"professional": (0.70, 0.60, 0.45), "migrant_org": (0.15, 0.15, 0.20), "parent": (0.05, 0.05, 0.05)},
    "hand_out_folder": {"professional": (0.40, 0.35, 0.10), "migrant_org": (0.30, 0.30, 0.10), "parent": (0.02, 0.02, 0.02)},
    "referral_after_connection": {"professional": (0.05, 0.10, 0.30), "migrant_org": (0.10, 0.15, 0.45), "parent": (0.02, 0.02, 0.05)},
    "listening_to_needs": {"professional": (0.10, 0.20, 0.50), "migrant_org": (0.10, 0.20, 0.50), "parent": (0.05, 0.10, 0.20)},
    "shared_positive_goal": {"professional": (0.05, 0.25, 0.60), "migrant_org": (0.05, 0.25, 0.60), "parent": (0.02, 0.10, 0.30)},
    # the built-in dissonance: as frequent at t2 where the collaboration did not take off as where it did
    "growing_trust": {"professional": (0.05, 0.55, 0.55), "migrant_org": (0.05, 0.55, 0.55), "parent": (0.05, 0.55, 0.55)},
    "suspending_judgement": {"professional": (0.10, 0.15, 0.50), "migrant_org": (0.05, 0.10, 0.35), "parent": (0.02, 0.02, 0.05)},
    "low_threshold_meeting_place": {"professional": (0.10, 0.15, 0.45), "migrant_org": (0.15, 0.20, 0.50), "parent": (0.10, 0.20, 0.55)},
    "countering_negative_discourse": {"professional": (0.05, 0.10, 0.35), "migrant_org": (0.10, 0.15, 0.40), "parent": (0.02, 0.02, 0.05)},
    "help_seeking_youth_team": {"professional": (0.10, 0.15, 0.40), "migrant_org": (0.05, 0.10, 0.35), "parent": (0.10, 0.15, 0.80)},
}

# Sentences a respondent says, per code. '{name}' is the interviewee's (fictitious) first name.
SENTENCES = {
    "we_they_thinking": [
        "Wij doen ons best voor de kinderen, maar zij komen gewoon niet.",
        "Het is echt wij en zij: de hulpverleners aan de ene kant en de vereniging aan de andere kant.",
        "Die mensen van het jeugdteam snappen niet hoe het bij ons thuis gaat.",
        "In de wijk praten mensen over 'die instanties' alsof het een andere wereld is.",
        "Iedereen blijft in zijn eigen hokje zitten.",
        "Bij ons leeft het idee dat de professionals toch niet naar ons luisteren.",
    ],
    "other_side_unwilling": [
        "Ik heb het gevoel dat de andere kant eigenlijk niet met ons wil samenwerken.",
        "Wij willen wel, maar ik denk dat zij er geen tijd voor willen maken.",
        "Ze zeggen dat samenwerking belangrijk is, maar ik zie het niet terug.",
        "Volgens mij zit de andere kant er niet op te wachten.",
        "Als wij bellen, wordt er nooit teruggebeld; dan denk je: ze willen niet.",
    ],
    "feeling_judged_bad_parent": [
        "Je voelt je meteen een slechte ouder als je daar binnenkomt.",
        "Ze kijken naar je alsof je het nooit goed kunt doen met je kinderen.",
        "Moeders vertellen mij dat ze zich beoordeeld voelen door de hulpverlening.",
        "Het voelt alsof je als ouder tekortschiet zodra je een vraag stelt.",
        "Een buurvrouw zei tegen me: '{name}, pas op, daar denken ze dat je een slechte moeder bent.'",
    ],
    "fear_children_taken": [
        "Veel ouders zijn bang dat ze hun kinderen afpakken.",
        "Als je het jeugdteam belt, nemen ze je kinderen mee, zeggen de mensen hier.",
        "Ik durfde niets te vragen uit angst dat ze mijn kinderen zouden weghalen.",
        "Het verhaal gaat rond dat je kinderen uit huis worden geplaatst als je hulp vraagt.",
        "Mijn zus zei: '{name}, zeg niets, anders komen ze je kinderen halen.'",
    ],
    "expect_strengthening": [
        "Wij hopen dat zij onze organisatie sterker maken, met training en ondersteuning.",
        "We hebben vrijwilligers die wat willen leren; daar verwachten we hulp bij.",
        "Ze zouden ons kunnen helpen met subsidie aanvragen en met het bestuur.",
        "Onze vereniging draait op vrijwilligers; versterking daarvan is wat we nodig hebben.",
        "Ik verwacht dat ze onze moeders zelf opleiden tot voorlichters.",
    ],
    "expect_bridge": [
        "Voor ons is de organisatie vooral een brug naar de ouders die we anders niet bereiken.",
        "Via de vereniging kunnen we de gezinnen bereiken die nu buiten beeld blijven.",
        "Zij kennen de families; wij hopen dat ze ouders naar ons doorsturen.",
        "De zelforganisatie is onze ingang in de gemeenschap.",
        "We zoeken sleutelfiguren die ons in contact brengen met migrantenouders.",
    ],
    "hand_out_folder": [
        "We vroegen of ze onze folder wilden uitdelen na de bijeenkomst.",
        "Ze komen alleen langs om een stapel folders neer te leggen.",
        "Een folder uitdelen is makkelijk, maar daar bereik je niemand mee.",
        "In het begin dachten wij: we geven ze flyers en dan komen de ouders vanzelf.",
        "Wij zijn geen folderpunt; dat hebben we duidelijk gezegd.",
    ],
    "referral_after_connection": [
        "Pas toen we elkaar echt kenden, durfde ik ouders naar het jeugdteam te sturen.",
        "Nu ik de medewerkster persoonlijk ken, verwijs ik moeders gewoon door.",
        "Eerst moest er vertrouwen zijn, daarna kwamen de doorverwijzingen vanzelf.",
        "Ze vroegen me: '{name}, wil jij mijn buurvrouw meenemen naar het spreekuur?' Dat doe ik nu, omdat ik de hulpverlener ken.",
        "Doorverwijzen doe je alleen naar iemand die je vertrouwt.",
    ],
    "listening_to_needs": [
        "Ze vroegen eerst wat wij nodig hadden, dat was nieuw.",
        "We zijn begonnen met luisteren naar wat de vrouwen zelf wilden.",
        "De hulpverleners kwamen niet met een plan, maar met vragen.",
        "Er werd echt geluisterd naar onze behoeften.",
        "We hebben gevraagd: waar lopen jullie tegenaan, en wat willen jullie zelf?",
    ],
    "shared_positive_goal": [
        "Samen hebben we een doel gekozen: een ontmoetingsochtend voor moeders.",
        "We wilden iets positiefs neerzetten, niet alleen over problemen praten.",
        "Het gezamenlijke doel werd een zomerfeest voor de kinderen uit de wijk.",
        "Door samen iets leuks te organiseren, ontstond er een band.",
        "Ons doel werd: ouders sterker maken in de opvoeding, samen met de vereniging.",
    ],
    "growing_trust": [
        "Langzaam groeide het vertrouwen tussen ons.",
        "Ik vertrouw de mensen van het jeugdteam nu veel meer dan vroeger.",
        "Je merkt dat ze ons nu serieus nemen, en wij hen ook.",
        "Het vertrouwen is gegroeid doordat we samen dingen hebben gedaan.",
        "Laatst zei iemand: '{name}, met hen kun je echt praten.' Dat had ik vroeger nooit gehoord.",
    ],
    "suspending_judgement": [
        "Ik heb geleerd mijn oordeel even uit te stellen en eerst te kijken wat ze wel doen.",
        "We moesten onze eigen ideeën over goede opvoeding even loslaten.",
        "Niet meteen zeggen hoe het moet, dat was voor ons team wennen.",
        "Ik zag ineens hoeveel kracht er in die vrouwengroep zit.",
        "Als professional moet je soms je protocol even parkeren.",
    ],
    "low_threshold_meeting_place": [
        "Bij de thee in het buurthuis praten moeders makkelijker over opvoeden.",
        "Het is een plek waar ouders zich op hun gemak voelen.",
        "De koffieochtend bij de vereniging is laagdrempelig; daar komt iedereen.",
        "Bij ons kun je gewoon binnenlopen, zonder afspraak.",
        "Eerst thee en een praatje, daarna komen de vragen vanzelf.",
    ],
    "countering_negative_discourse": [
        "Samen laten we zien dat onze wijk meer is dan de negatieve verhalen in de krant.",
        "We willen het negatieve beeld van onze gemeenschap doorbreken.",
        "Het gaat altijd over problemen; wij laten zien wat er wel goed gaat.",
        "Door samen op te trekken praten mensen minder over 'die anderen'.",
        "We zetten positieve verhalen tegenover de polarisatie.",
    ],
    "help_seeking_youth_team": [
        "Ik ben zelf naar het jeugdteam gegaan met mijn vraag over mijn zoon.",
        "Nu stel ik mijn opvoedvragen gewoon aan de medewerkster van het jeugdteam.",
        "Vorige maand heb ik het jeugdteam gebeld over het slapen van mijn dochter.",
        "Steeds meer moeders komen met vragen naar het spreekuur.",
        "De medewerkster zei: '{name}, kom gerust langs met je vraag.' En dat heb ik gedaan.",
    ],
}

# Openings that vary the sentences (the sentence's first letter is lower-cased after them).
OPENERS = ["", "Ja, ", "Nou, ", "Eerlijk gezegd, ", "Kijk, "]

FILLERS = [
    "Dat is een goede vraag.",
    "Daar moet ik even over nadenken.",
    "We zien elkaar meestal op dinsdagochtend.",
    "Het was een drukke periode, met de zomervakantie ertussen.",
    "Ik woon al heel lang in deze buurt.",
    "Mijn kinderen zitten op de basisschool hier om de hoek.",
    "Dat weet ik niet precies meer.",
    "We hebben het daar in de groep vaak over gehad.",
    "De bijeenkomsten zijn meestal in het buurthuis.",
    "Sommige weken komen er meer mensen dan andere.",
]

QUESTIONS = [
    "Hoe kijkt u terug op de afgelopen periode?",
    "Kunt u daar een voorbeeld van geven?",
    "Wat vindt u belangrijk in de samenwerking?",
    "Hoe gaat het contact met de andere partij?",
    "Wat merkt u daarvan in de wijk?",
    "Wat verwacht u van de samenwerking?",
    "Hoe is dat voor de ouders?",
    "Wat is er veranderd sinds de vorige keer?",
]

# Each document opens with: HEADER_TITLE + document_id + "\nI: " + greeting + HEADER_REPLY
HEADER_TITLE = "SYNTHETISCH INTERVIEW (synthetische voorbeelddata, geen echte persoon) - "
HEADER_REPLY = "\nR: Graag gedaan."
GREETING_NAMED = ("Dank je wel, ", ", dat je tijd hebt voor dit gesprek.")  # around the interviewee's first name
GREETING_ANONYMOUS = "Dank u wel dat u tijd hebt voor dit gesprek."

FIRST_NAMES = {
    # flavour -> gender -> names (common first names, chosen for the example only)
    "dutch": {"f": ["Anouk", "Sanne", "Marieke", "Linda", "Ingrid", "Esther", "Femke", "Judith"], "m": ["Jeroen", "Pieter", "Mark", "Bas", "Ruud", "Sander"]},
    "turkish": {"f": ["Ayşe", "Fatma", "Elif", "Zeynep", "Hatice", "Emine", "Özlem", "Sevgi"], "m": ["Mehmet", "Emre", "Mustafa", "Hasan", "Murat", "Kemal"]},
    "moroccan": {"f": ["Fatima", "Khadija", "Naima", "Samira", "Nadia", "Hanane", "Malika", "Loubna"], "m": ["Mohamed", "Youssef", "Karim", "Hamid", "Said", "Bilal"]},
}


def sentence_variants() -> dict[str, list[tuple[str, str, bool]]]:
    """Per code the (before_name, after_name, has_name) triple of every sentence variant.

    A sentence without a name is ``(sentence, "", False)`` and gets every
    opener; a sentence with ``{name}`` is split at it and gets no opener.
    """
    variants = {}
    for code, sentences in SENTENCES.items():
        triples = []
        for sentence in sentences:
            if "{name}" in sentence:
                before, after = sentence.split("{name}", 1)
                triples.append((before, after, True))
            else:
                triples += [(opener + (sentence[0].lower() + sentence[1:] if opener else sentence), "", False) for opener in OPENERS]
        variants[code] = triples
    return variants
