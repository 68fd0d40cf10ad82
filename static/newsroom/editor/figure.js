/*
 * Inline figures for the article body: an image from the newsroom's library and its caption.
 *
 * A plain ES module, no build step. django-prose-editor imports it for fields whose config enables
 * "NewsroomFigure" (settings.DJANGO_PROSE_EDITOR_EXTENSIONS, newsroom/richtext.py) and merges
 * its exports into the extensions it knows. The body stores only a reference and the caption,
 *   <figure data-image-id="42"><figcaption>Caption</figcaption></figure>
 * and the public page expands it into a <picture> with the image's credit. The library is read
 * and added to through the admin's JSON endpoints (newsroom/admin_views.py); the URL comes from
 * the extension's config ("libraryUrl").
 *
 * Everything runs under the admin's CSP: no inline script, no eval, no remote resource.
 */
import { Node, crel, gettext } from "django-prose-editor/editor"

const STYLESHEET = new URL("./figure.css", import.meta.url).href

function addStylesheet() {
  if (![...document.styleSheets].some((sheet) => sheet.href === STYLESHEET)) {
    document.head.append(crel("link", { rel: "stylesheet", href: STYLESHEET }))
  }
}

let counter = 0
const uid = (name) => `newsroom-figure-${name}-${++counter}`

function csrfToken() {
  const input = document.querySelector("input[name=csrfmiddlewaretoken]")
  if (input?.value) return input.value
  const match = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/)
  return match ? decodeURIComponent(match[1]) : ""
}

async function getJSON(url) {
  const response = await fetch(url, {
    credentials: "same-origin",
    headers: { Accept: "application/json" },
  })
  const type = response.headers.get("Content-Type") || ""
  if (!type.includes("application/json")) {
    // A redirect to the log-in page: the session has ended.
    throw new Error(gettext("Your session has ended. Log in again in another tab."))
  }
  const data = await response.json()
  if (!response.ok) throw new Error(data.error || response.statusText)
  return data
}

// One request per picture, however many times it appears in the body.
const pictures = new Map()
function loadPicture(libraryUrl, id) {
  const key = `${libraryUrl}${id}`
  if (!pictures.has(key)) {
    pictures.set(
      key,
      getJSON(`${libraryUrl}${encodeURIComponent(id)}/`).catch(() => null),
    )
  }
  return pictures.get(key)
}

function field(labelText, input, help = "") {
  input.id ||= uid(input.name || "field")
  const label = crel("label", { htmlFor: input.id, textContent: labelText })
  const children = [label, input]
  if (help) children.push(crel("span", { className: "help", textContent: help }))
  return crel("div", { className: "newsroom-library__field" }, children)
}

function uploadedOn(isoDate) {
  const date = new Date(isoDate)
  return Number.isNaN(date.valueOf()) ? "" : date.toLocaleDateString()
}

/*
 * The library dialog: search the pictures (alt text, credit, date) and pick one, or upload a
 * new one. Resolves with the picture's JSON, or null when closed without choosing.
 */
function chooseFromLibrary(libraryUrl) {
  addStylesheet()
  return new Promise((resolve) => {
    let chosen = null
    const titleId = uid("title")

    const query = crel("input", { type: "search", name: "q", autocomplete: "off" })
    const date = crel("input", { type: "date", name: "date" })
    const searchForm = crel("form", { className: "newsroom-library__search", role: "search" }, [
      field(gettext("Search the library"), query, gettext("Alt text, credit or licence")),
      field(gettext("Uploaded on"), date),
      crel("button", { type: "submit", textContent: gettext("Search") }),
    ])
    const status = crel("p", { className: "newsroom-library__status", role: "status" })
    const results = crel("ul", { className: "newsroom-library__results" })
    const more = crel("button", {
      type: "button",
      textContent: gettext("More pictures"),
      hidden: true,
    })

    const file = crel("input", { type: "file", name: "file", accept: "image/*", required: true })
    const alt = crel("input", { type: "text", name: "alt", required: true, maxLength: 300 })
    const credit = crel("input", { type: "text", name: "credit", required: true, maxLength: 200 })
    const licence = crel("input", { type: "text", name: "licence", maxLength: 200 })
    const uploadErrors = crel("ul", { className: "errorlist", role: "alert" })
    const uploadButton = crel("button", {
      type: "submit",
            textContent: gettext("Upload and insert"),
    })
    const uploadForm = crel("form", { className: "newsroom-library__upload" }, [
      crel("h3", { textContent: gettext("Or upload a new picture") }),
      field(gettext("Picture"), file),
      field(gettext("Alternative text"), alt, gettext("What the picture shows.")),
      field(gettext("Credit"), credit, gettext("The photographer or agency.")),
      field(gettext("Source or licence"), licence),
      uploadErrors,
      uploadButton,
    ])

    const cancel = crel("button", {
      type: "button",
      textContent: gettext("Cancel"),
    })
    const dialog = crel(
      "dialog",
      { className: "prose-editor-dialog newsroom-library", "aria-labelledby": titleId },
      [
        crel("h2", { id: titleId, textContent: gettext("Insert figure") }),
        searchForm,
        status,
        results,
        more,
        uploadForm,
        crel("div", { className: "newsroom-library__actions" }, [cancel]),
      ],
    )

    const choose = (picture) => {
      chosen = picture
      dialog.close()
    }

    let page = 1
    let generation = 0
    async function search(nextPage = 1) {
      const current = ++generation
      const params = new URLSearchParams({ page: String(nextPage) })
      if (query.value.trim()) params.set("q", query.value.trim())
      if (date.value) params.set("date", date.value)
      status.textContent = gettext("Searching…")
      try {
        const data = await getJSON(`${libraryUrl}?${params}`)
        if (current !== generation) return
        if (nextPage === 1) results.replaceChildren()
        for (const picture of data.results) {
          const meta = [picture.credit, uploadedOn(picture.created_at)].filter(Boolean)
          const button = crel("button", { type: "button", className: "newsroom-library__pick" }, [
            crel("img", {
              src: picture.thumbnail,
              alt: "",
              width: 120,
              height: 80,
              loading: "lazy",
            }),
            crel("span", { className: "newsroom-library__alt", textContent: picture.alt }),
            crel("span", { className: "newsroom-library__meta", textContent: meta.join(" · ") }),
          ])
          button.addEventListener("click", () => choose(picture))
          results.append(crel("li", {}, [button]))
        }
        page = data.page
        more.hidden = !data.has_next
        status.textContent = data.count
          ? ""
          : gettext("No picture in the library matches.")
      } catch (error) {
        if (current === generation) status.textContent = error.message
      }
    }

    let typing = null
    query.addEventListener("input", () => {
      clearTimeout(typing)
      typing = setTimeout(() => search(1), 300)
    })
    date.addEventListener("change", () => search(1))
    searchForm.addEventListener("submit", (event) => {
      event.preventDefault()
      clearTimeout(typing)
      search(1)
    })
    more.addEventListener("click", () => search(page + 1))

    uploadForm.addEventListener("submit", async (event) => {
      event.preventDefault()
      uploadErrors.replaceChildren()
      uploadButton.disabled = true
      try {
        const response = await fetch(libraryUrl, {
          method: "POST",
          body: new FormData(uploadForm),
          credentials: "same-origin",
          headers: { Accept: "application/json", "X-CSRFToken": csrfToken() },
        })
        const type = response.headers.get("Content-Type") || ""
        const data = type.includes("application/json") ? await response.json() : {}
        if (response.status === 201) {
          choose(data)
          return
        }
        const messages = data.errors
          ? Object.entries(data.errors).flatMap(([name, errors]) => {
              const input = uploadForm.elements[name]
              const label = input ? uploadForm.querySelector(`label[for="${input.id}"]`) : null
              return errors.map((error) => (label ? `${label.textContent}: ${error}` : error))
            })
          : [data.error || gettext("The upload failed. Please try again.")]
        uploadErrors.replaceChildren(
          ...messages.map((message) => crel("li", { textContent: message })),
        )
      } catch (_error) {
        uploadErrors.replaceChildren(
          crel("li", { textContent: gettext("The upload failed. Please try again.") }),
        )
      } finally {
        uploadButton.disabled = false
      }
    })

    cancel.addEventListener("click", () => dialog.close())
    dialog.addEventListener("close", () => {
      dialog.remove()
      resolve(chosen)
    })

    // Outside the admin's <form>: forms must not nest, and Enter must not save the article.
    document.body.append(dialog)
    dialog.showModal()
    query.focus()
    search(1)
  })
}

function digitsOrNull(value) {
  return /^\d+$/.test(value || "") ? value : null
}

export const NewsroomFigure = Node.create({
  name: "newsroomFigure",
  group: "block",
  atom: true,
  draggable: true,
  selectable: true,

  addOptions() {
    return { libraryUrl: "" }
  },

  addStorage() {
    return { focusCaption: false }
  },

  addAttributes() {
    return {
      imageId: {
        default: null,
        parseHTML: (element) => digitsOrNull(element.getAttribute("data-image-id")),
        renderHTML: (attributes) =>
          attributes.imageId ? { "data-image-id": attributes.imageId } : {},
      },
      caption: {
        default: "",
        parseHTML: (element) =>
          (element.querySelector("figcaption")?.textContent || "").replace(/\s+/g, " ").trim(),
        // Rendered as the <figcaption> child, not as an attribute.
        renderHTML: () => ({}),
      },
    }
  },

  parseHTML() {
    return [{ tag: "figure[data-image-id]" }]
  },

  renderHTML({ node, HTMLAttributes }) {
    const caption = node.attrs.caption.trim()
    return caption
      ? ["figure", HTMLAttributes, ["figcaption", caption]]
      : ["figure", HTMLAttributes]
  },

  addCommands() {
    return {
      insertNewsroomFigure:
        (attrs) =>
        ({ commands }) =>
          commands.insertContent({ type: this.name, attrs }),
    }
  },

  addMenuItems({ buttons, menu }) {
    const { name, options, storage } = this
    menu.defineItem({
      name,
      groups: "nodes",
      button: buttons.material("add_photo_alternate", gettext("Insert figure")),
      enabled: (editor) => editor.can().insertNewsroomFigure({ imageId: "1" }),
      active: (editor) => editor.isActive(name),
      command(editor) {
        chooseFromLibrary(options.libraryUrl).then((picture) => {
          if (!picture) {
            editor.commands.focus()
            return
          }
          // The new figure's view puts the cursor in its caption.
          storage.focusCaption = true
          editor
            .chain()
            .focus()
            .insertNewsroomFigure({ imageId: String(picture.id), caption: "" })
            .run()
        })
      },
    })
  },

  addNodeView() {
    const { options, storage } = this
    addStylesheet()
    return ({ node, getPos, editor }) => {
      const thumbnail = crel("img", { alt: "", className: "newsroom-figure__thumbnail" })
      const about = crel("p", { className: "newsroom-figure__about" })
      const caption = crel("input", {
        type: "text",
        id: uid("caption"),
        className: "newsroom-figure__caption",
        value: node.attrs.caption,
      })
      const label = crel("label", { htmlFor: caption.id, textContent: gettext("Caption") })
      const dom = crel("div", { className: "newsroom-figure", contentEditable: "false" }, [
        thumbnail,
        crel("div", { className: "newsroom-figure__text" }, [
          about,
          crel("div", { className: "newsroom-figure__field" }, [label, caption]),
        ]),
      ])
      dom.dataset.imageId = node.attrs.imageId || ""

      let shown = null
      const show = (imageId) => {
        if (imageId === shown) return
        shown = imageId
        about.textContent = gettext("Loading picture…")
        loadPicture(options.libraryUrl, imageId).then((picture) => {
          if (shown !== imageId) return
          if (!picture) {
            thumbnail.hidden = true
            about.textContent = gettext(
              "This picture is no longer in the library: the figure will not be shown.",
            )
            return
          }
          thumbnail.hidden = false
          thumbnail.src = picture.thumbnail
          thumbnail.alt = picture.alt
          about.textContent = [
            picture.alt,
            picture.credit ? `${gettext("Image:")} ${picture.credit}` : gettext("No credit"),
          ].join(" — ")
        })
      }
      show(node.attrs.imageId)

      caption.addEventListener("input", () => {
        const pos = getPos()
        if (typeof pos !== "number") return
        editor.view.dispatch(
          editor.view.state.tr.setNodeAttribute(pos, "caption", caption.value),
        )
      })
      caption.addEventListener("keydown", (event) => {
        // Enter leaves the caption for a new paragraph after the figure, as in a text block.
        if (event.key !== "Enter") return
        event.preventDefault()
        const pos = getPos()
        if (typeof pos !== "number") return
        const after = pos + editor.view.state.doc.nodeAt(pos).nodeSize
        editor.chain().insertContentAt(after, { type: "paragraph" }).focus(after + 1).run()
      })

      if (storage.focusCaption) {
        storage.focusCaption = false
        requestAnimationFrame(() => caption.focus())
      }

      return {
        dom,
        update(updated) {
          if (updated.type !== node.type) return false
          node = updated
          dom.dataset.imageId = updated.attrs.imageId || ""
          if (caption.value !== updated.attrs.caption && document.activeElement !== caption) {
            caption.value = updated.attrs.caption
          }
          show(updated.attrs.imageId)
          return true
        },
        selectNode() {
          dom.classList.add("ProseMirror-selectednode")
        },
        deselectNode() {
          dom.classList.remove("ProseMirror-selectednode")
        },
        // The caption field handles its own keys, clicks and text; ProseMirror stays out.
        stopEvent: (event) => event.target === caption,
        ignoreMutation: () => true,
      }
    }
  },
})
