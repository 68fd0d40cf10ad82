"""The body editor's own extension, inline figures, as django-prose-editor is told of it.

Settings declare it (DJANGO_PROSE_EDITOR_EXTENSIONS) and the sanitiser (newsroom.richtext) allows
what it stores. It lives apart and imports nothing of the project, so that settings import no
module that reads settings or imports models.
"""

from django_prose_editor.config import html_tags

#: Its name in the editor's configuration (static/newsroom/editor/figure.js registers it).
FIGURE_EXTENSION = "NewsroomFigure"
FIGURE_JS = "newsroom/editor/figure.js"
#: What the figure extension adds to the allow-list. The id's value is checked by the
#: sanitiser: nh3 cannot restrict an attribute to digits.
figure_allowlist = html_tags(["figure", "figcaption"], {"figure": ["data-image-id"]})
