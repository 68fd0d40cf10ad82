"""The demo newsroom's static pages in English and Russian, its reporters' roles and links, and
the stories its editors pin on each home page.

The privacy page describes what this software stores and sets: keep it true when that changes.
"""

from django.conf import settings
from django.db import transaction

from newsroom.models import HOME_FEATURED_MAX, Article, AuthorLink, Page

# Author slug: (role, [(label, address)]). Addresses use reserved example domains.
AUTHOR_PROFILES = {
    "nino-kapanadze": (
        "Politics correspondent, Tbilisi",
        [("Mastodon", "https://social.example/@nino_kapanadze")],
    ),
    "aram-hakobyan": ("Business reporter, Yerevan", []),
    "leyla-huseynova": (
        "Environment correspondent, Baku",
        [("Website", "https://leyla-huseynova.example/")],
    ),
    "levan-chikhradze": (
        "Investigations editor",
        [
            ("Mastodon", "https://social.example/@levan"),
            ("Secure contact", "https://highland-courier.example/contact/"),
        ],
    ),
    "ani-sargsyan": ("Culture editor, Gyumri", []),
    "elif-yildirim": ("Correspondent, Kars", [("Website", "https://elif-yildirim.example/")]),
    "farid-rzayev": ("Education and health reporter, Ganja", []),
    "daria-sokolova": ("North Caucasus correspondent", []),
    "aigerim-seitkali": (
        "Trade and data reporter, Almaty",
        [("Charts and data", "https://data.highland-courier.example/")],
    ),
    "shirin-ahmadi": ("Contributing writer, Tabriz", []),
    "timur-yusupov": ("Central Asia economics correspondent, Tashkent", []),
    "mariam-gelashvili": ("Columnist", [("Mastodon", "https://social.example/@mariam")]),
}

# Slug: (English title, English text, Russian title, Russian text). "{name}" is the newsroom.
PAGES = {
    "about": (
        "About us",
        """
<p>{name} is an independent newsroom reporting on Georgia, Armenia, Azerbaijan and their
neighbours, in English and in Russian. Our reporters live in the places they cover: Tbilisi,
Yerevan, Baku, Kars, Almaty, Tashkent and a dozen towns in between.</p>
<h2>Who pays for it</h2>
<p>Our readers. Most of our budget comes from members who pay a small amount every month or
year, and from one-off donations. We take no money from governments, political parties or the
companies we report on, and we run no advertising, so nobody but our readers can lean on us.</p>
<h2>What we publish</h2>
<p>News and analysis on politics, business, the environment, society and culture, and
long-form investigations that follow public money. Most stories are free to read. Members read
some investigations a few days early, and a few stories are for members only.</p>
<h2>How we work</h2>
<p>We check what we publish with at least two sources, name our sources where it is safe to do
so, and correct our mistakes in public (see our corrections policy).</p>
""",
        "О нас",
        """
<p>{name} — независимая редакция, которая пишет о Грузии, Армении, Азербайджане и их соседях
на английском и русском языках. Наши корреспонденты живут там, о чём пишут: в Тбилиси, Ереване,
Баку, Карсе, Алматы, Ташкенте и в десятке городов между ними.</p>
<h2>Кто за это платит</h2>
<p>Наши читатели. Большая часть бюджета — взносы участников, которые платят небольшую сумму
раз в месяц или раз в год, и разовые пожертвования. Мы не берём денег у правительств,
политических партий и компаний, о которых пишем, и не размещаем рекламу, поэтому давить на нас
могут только читатели.</p>
<h2>Что мы публикуем</h2>
<p>Новости и аналитику о политике, экономике, экологии, обществе и культуре, а также большие
расследования о том, куда уходят общественные деньги. Большинство материалов открыты для всех.
Некоторые расследования участники читают на несколько дней раньше, а несколько материалов
доступны только участникам.</p>
<h2>Как мы работаем</h2>
<p>Мы проверяем публикуемое минимум по двум источникам, называем источники, когда это
безопасно, и открыто исправляем свои ошибки (см. нашу политику исправлений).</p>
""",
    ),
    "contact": (
        "Contact",
        """
<p>Write to the newsroom at <a href="mailto:newsroom@highland-courier.example">
newsroom@highland-courier.example</a>. We read everything and answer what we can.</p>
<h2>Tips and documents</h2>
<p>If you have information that could put you at risk, do not write from a work address or a
work device. Ask for our investigations desk and we will tell you how to reach us more safely.
We never publish a source's name without their agreement.</p>
<h2>Corrections</h2>
<p>Seen a mistake? Write to
<a href="mailto:corrections@highland-courier.example">corrections@highland-courier.example</a>
with the story's address and what is wrong.</p>
<h2>Membership and donations</h2>
<p>For questions about your membership, a payment or a receipt, write to
<a href="mailto:members@highland-courier.example">members@highland-courier.example</a>.
You can change or cancel your membership yourself from your account page.</p>
""",
        "Контакты",
        """
<p>Пишите в редакцию: <a href="mailto:newsroom@highland-courier.example">
newsroom@highland-courier.example</a>. Мы читаем все письма и отвечаем, когда можем.</p>
<h2>Сообщения и документы</h2>
<p>Если ваша информация может подвергнуть вас риску, не пишите с рабочего адреса или рабочего
устройства. Попросите связать вас с отделом расследований, и мы расскажем, как связаться с нами
безопаснее. Мы никогда не называем источник без его согласия.</p>
<h2>Исправления</h2>
<p>Заметили ошибку? Напишите на
<a href="mailto:corrections@highland-courier.example">corrections@highland-courier.example</a>
и укажите адрес материала и что в нём не так.</p>
<h2>Участие и пожертвования</h2>
<p>По вопросам участия, платежей и квитанций пишите на
<a href="mailto:members@highland-courier.example">members@highland-courier.example</a>.
Изменить или отменить участие можно самостоятельно на странице вашего аккаунта.</p>
""",
    ),
    "terms": (
        "Terms of use",
        """
<p>These terms apply to everyone who reads {name} or holds an account with us.</p>
<h2>Our journalism</h2>
<p>You may read, print and share links to our stories freely. To republish a story in full,
ask us first. Photographs belong to the photographers credited under them.</p>
<h2>Accounts</h2>
<p>Keep your password to yourself. You can download what we store about you and delete your
account at any time from your account page.</p>
<h2>Membership and donations</h2>
<p>Memberships renew every month or year until you cancel; a cancelled membership runs to the
end of the period you paid for. Payments are handled by Stripe. Donations are gifts and are not
refunded, except when a payment was made by mistake: write to us within 30 days.</p>
<h2>Changes</h2>
<p>When we change these terms we say so on this page, with the date of the change.</p>
""",
        "Условия использования",
        """
<p>Эти условия действуют для всех, кто читает {name} или имеет у нас аккаунт.</p>
<h2>Наши материалы</h2>
<p>Вы можете свободно читать, печатать наши материалы и делиться ссылками на них. Чтобы
перепечатать материал целиком, сначала спросите нас. Права на фотографии принадлежат
фотографам, указанным под ними.</p>
<h2>Аккаунты</h2>
<p>Никому не сообщайте свой пароль. Скачать всё, что мы о вас храним, и удалить аккаунт можно
в любой момент на странице аккаунта.</p>
<h2>Участие и пожертвования</h2>
<p>Участие продлевается каждый месяц или год, пока вы его не отмените; отменённое участие
действует до конца оплаченного периода. Платежи обрабатывает Stripe. Пожертвования — это
подарки и не возвращаются, кроме ошибочных платежей: напишите нам в течение 30 дней.</p>
<h2>Изменения</h2>
<p>Если мы меняем эти условия, мы сообщаем об этом на этой странице и указываем дату.</p>
""",
    ),
    "privacy": (
        "Privacy",
        """
<p>{name} keeps as little about its readers as it can. This page says exactly what that is.</p>
<h2>If you only read</h2>
<ul>
<li>We set no cookies. Reading our stories, searching and following our feeds leave nothing
in your browser from us.</li>
<li>We do not store your IP address and we use no tracking identifiers, analytics services,
advertising networks or social media buttons. Every part of our pages comes from our own
servers.</li>
<li>To slow down abuse we count requests for a few minutes under a scrambled (hashed) value
that cannot be turned back into your address, and then forget it.</li>
<li>If you close one of our fundraising messages, your browser remembers that in its own local
storage for a few days so that we do not show it again. That note never leaves your device, and
your browser's “clear site data” removes it.</li>
</ul>
<h2>If you sign in, join or donate</h2>
<ul>
<li>Signing in, or starting to join or donate, sets the cookies those forms need: a session
cookie, a security (CSRF) cookie that protects the forms, and a small marker that tells our
pages you are signed in. They are deleted when you sign out or when they expire.</li>
<li>Your account holds your email address, your name if you give it, your preferred language
and your password in a form that cannot be read back.</li>
<li>For members and donors we keep your membership or donation, its status and renewal date,
and a record of each payment (amount, date, receipt), as accounting law requires.</li>
<li>Payments are made on Stripe's pages. Stripe holds your card details; we never see or store
them. We keep only the identifiers Stripe gives us to match payments to your account.</li>
</ul>
<h2>Your rights</h2>
<p>On your account page you can download everything we store about you and delete your
account. Deleting it cancels any membership; payment records are kept for as long as the law
requires, without your name or address. Questions: write to
<a href="mailto:privacy@highland-courier.example">privacy@highland-courier.example</a>.</p>
""",
        "Конфиденциальность",
        """
<p>{name} хранит о своих читателях как можно меньше. На этой странице сказано, что именно.</p>
<h2>Если вы только читаете</h2>
<ul>
<li>Мы не устанавливаем cookie. Чтение материалов, поиск и подписка на наши ленты не оставляют
от нас ничего в вашем браузере.</li>
<li>Мы не храним ваш IP-адрес и не используем идентификаторы для слежки, сервисы аналитики,
рекламные сети и кнопки социальных сетей. Всё на наших страницах загружается с нашего
собственного сервера.</li>
<li>Чтобы защищаться от злоупотреблений, мы несколько минут считаем запросы под зашифрованным
(хешированным) значением, из которого нельзя восстановить ваш адрес, а затем забываем его.</li>
<li>Если вы закрыли одно из наших сообщений о сборе средств, ваш браузер запоминает это на
несколько дней в своём локальном хранилище, чтобы мы не показывали его снова. Эта запись не
покидает ваше устройство, и её удаляет очистка данных сайта в браузере.</li>
</ul>
<h2>Если вы входите в аккаунт, становитесь участником или жертвуете</h2>
<ul>
<li>Вход в аккаунт, а также начало оформления участия или пожертвования устанавливают cookie,
нужные этим формам: cookie сессии, защитную cookie (CSRF) для форм и небольшую метку, по
которой наши страницы знают, что вы вошли. Они удаляются, когда вы выходите или когда истекает
их срок.</li>
<li>В аккаунте хранятся ваш адрес электронной почты, имя, если вы его указали, язык и пароль в
виде, который нельзя прочитать обратно.</li>
<li>Для участников и жертвователей мы храним ваше участие или пожертвование, его статус и дату
продления, а также запись о каждом платеже (сумма, дата, квитанция), как того требует закон о
бухгалтерском учёте.</li>
<li>Платежи проходят на страницах Stripe. Данные вашей карты хранит Stripe; мы их не видим и
не храним. Мы храним только идентификаторы Stripe, чтобы связать платежи с вашим аккаунтом.</li>
</ul>
<h2>Ваши права</h2>
<p>На странице аккаунта можно скачать всё, что мы о вас храним, и удалить аккаунт. Удаление
отменяет участие; записи о платежах хранятся столько, сколько требует закон, без вашего имени
и адреса. Вопросы: <a href="mailto:privacy@highland-courier.example">
privacy@highland-courier.example</a>.</p>
""",
    ),
    "corrections": (
        "Corrections policy",
        """
<p>We get things wrong sometimes. When we do, we say so.</p>
<h2>How we correct</h2>
<ul>
<li>A factual error is corrected in the story, and a dated note under it says what was wrong
and what we changed.</li>
<li>Spelling and grammar are fixed without a note, unless they changed the meaning.</li>
<li>We do not quietly delete stories. If a story must come down, for example to protect a
source's safety, we say that it was removed and, where we can, why.</li>
<li>The Russian and English editions of a story are corrected together.</li>
</ul>
<h2>Tell us</h2>
<p>Write to <a href="mailto:corrections@highland-courier.example">
corrections@highland-courier.example</a> with the story's address and what is wrong. An editor
who did not work on the story reads every request and answers within two working days.</p>
""",
        "Политика исправлений",
        """
<p>Иногда мы ошибаемся. Когда это случается, мы об этом говорим.</p>
<h2>Как мы исправляем</h2>
<ul>
<li>Фактическую ошибку мы исправляем в материале, а под ним появляется датированная заметка о
том, что было не так и что мы изменили.</li>
<li>Опечатки и грамматику мы исправляем без заметки, если они не меняли смысл.</li>
<li>Мы не удаляем материалы втихую. Если материал приходится снять, например ради безопасности
источника, мы сообщаем, что он снят, и, где можем, объясняем почему.</li>
<li>Русская и английская версии материала исправляются вместе.</li>
</ul>
<h2>Сообщите нам</h2>
<p>Пишите на <a href="mailto:corrections@highland-courier.example">
corrections@highland-courier.example</a>, указав адрес материала и что в нём не так. Каждое
обращение читает редактор, не работавший над материалом, и отвечает в течение двух рабочих
дней.</p>
""",
    ),
}


def create_demo_pages():
    """The static pages, created or brought back to the demo's copy (by slug); returns them."""
    name = settings.NEWSROOM_NAME
    pages = []
    with transaction.atomic():
        for position, (slug, (title_en, body_en, title_ru, body_ru)) in enumerate(
            PAGES.items(), start=1
        ):
            page, _created = Page.objects.update_or_create(
                slug=slug,
                defaults={
                    "title_en": title_en,
                    "body_en": body_en.format(name=name).strip(),
                    "title_ru": title_ru,
                    "body_ru": body_ru.format(name=name).strip(),
                    "in_footer": True,
                    "position": position,
                },
            )
            pages.append(page)
    return pages


def describe_authors(authors):
    """Give the demo's authors (a {slug: Author} dict) their roles and links."""
    with transaction.atomic():
        for slug, (role, links) in AUTHOR_PROFILES.items():
            author = authors.get(slug)
            if author is None:
                continue
            if author.role != role:
                author.role = role
                author.save(update_fields=["role"])
            for position, (label, url) in enumerate(links):
                AuthorLink.objects.update_or_create(
                    author=author, label=label, defaults={"url": url, "position": position}
                )


def pin_home_stories(featured=3):
    """Pin a lead and `featured` featured stories on each language's home page: the latest
    public stories with a picture, from different sections where possible. A language whose
    editors have pinned anything already is left as it is."""
    featured = min(featured, HOME_FEATURED_MAX)
    pinned = []
    for language, _name in settings.LANGUAGES:
        stories = Article.objects.filter(language=language)
        if stories.exclude(home_placement="").exists():
            continue
        candidates = (
            stories.published()
            .filter(visibility=Article.Visibility.PUBLIC)
            .exclude(hero_image=None)
            .only("pk", "section_id", "language")[:50]
        )
        # Each from another section where the language has enough of them.
        candidates = list(candidates)
        chosen, sections = [], set()
        for story in candidates:
            if story.section_id not in sections:
                chosen.append(story)
                sections.add(story.section_id)
        chosen += [story for story in candidates if story not in chosen]
        chosen = chosen[: 1 + featured]
        # A queryset update: pinning changes no story's text or revision history.
        for story, placement in zip(
            chosen,
            [Article.HomePlacement.LEAD] + [Article.HomePlacement.FEATURED] * featured,
            strict=False,
        ):
            Article.objects.filter(pk=story.pk).update(home_placement=placement)
            pinned.append(story)
    return pinned
