"""The interface speaks English and Simplified Chinese, and the Chinese catalogue is complete and compiled."""

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import polib
import pytest
from django.conf import settings
from django.urls import reverse

ROOT = Path(__file__).resolve().parents[2]
PO_PATH = ROOT / "locale" / "zh_Hans" / "LC_MESSAGES" / "django.po"
MO_PATH = PO_PATH.with_suffix(".mo")
FIX = "run `make messages`, translate what it reports, then run `make messages` again (README, Languages)"

# Printf-style placeholders (%(name)s, %d, %s) and literal %%: each msgstr must keep its msgid's.
PLACEHOLDER = re.compile(r"%(?:\(\w+\))?[-#0 +]*\d*(?:\.\d+)?[sdifr%]")
# HTML tags and entities inside a message (blocktranslate with <code>…</code>) must survive too.
MARKUP = re.compile(r"</?[a-zA-Z][^>]*>|&[a-z]+;|&#\d+;")
# What the copy for the extraction check leaves out: large, generated or never scanned.
NOT_COPIED = {
    ".git",
    ".venv",
    "var",
    "node_modules",
    "test-artifacts",
    "tests",
    "bench",
    "build",
    "dist",
}


def _catalogue() -> polib.POFile:
    assert PO_PATH.exists(), f"{PO_PATH} is missing; {FIX}."
    return polib.pofile(str(PO_PATH))


def _live_entries(po) -> list[polib.POEntry]:
    return [entry for entry in po if not entry.obsolete]


def _translations(entry) -> list[str]:
    return list(entry.msgstr_plural.values()) if entry.msgid_plural else [entry.msgstr]


def _where(entry) -> str:
    files = sorted({path for path, _line in entry.occurrences})
    return f"{entry.msgid!r} ({', '.join(files) or 'no source'})"


# --- pages ---------------------------------------------------------------------------------


def test_shows_the_login_page_in_english_by_default(client):
    response = client.get(reverse("login"))

    page = response.content.decode()
    assert response.status_code == 200
    assert '<html lang="en">' in page
    assert "Log in" in page and "登录" not in page


@pytest.mark.parametrize("accept_language", ["zh-Hans", "zh-CN", "zh-Hans-CN,zh;q=0.9,en;q=0.5"])
def test_shows_the_login_page_in_chinese_when_the_browser_asks_for_it(client, accept_language):
    response = client.get(reverse("login"), HTTP_ACCEPT_LANGUAGE=accept_language)

    page = response.content.decode()
    assert '<html lang="zh-hans">' in page
    assert "<title>登录</title>" in page
    # Django's own catalogue translates the authentication form's labels.
    assert "用户名" in page and "密码" in page
    assert "Log in" not in page


def test_shows_the_project_list_in_chinese_when_the_browser_asks_for_it(client, manager, project):
    client.force_login(manager)

    page = client.get(
        reverse("annotation:project-list"), HTTP_ACCEPT_LANGUAGE="zh-Hans"
    ).content.decode()

    assert "<h1>项目</h1>" in page
    assert "退出登录" in page and "API 令牌" in page
    assert "Projects" not in page and "Log out" not in page


def test_shows_the_project_list_in_english_to_a_browser_asking_for_an_unsupported_language(
    client, manager, project
):
    client.force_login(manager)

    page = client.get(
        reverse("annotation:project-list"), HTTP_ACCEPT_LANGUAGE="fr-FR,fr;q=0.9"
    ).content.decode()

    assert "<h1>Projects</h1>" in page


def test_offers_the_language_switcher_on_every_page_with_the_current_language_chosen(client):
    english = client.get(reverse("login")).content.decode()
    chinese = client.get(reverse("login"), HTTP_ACCEPT_LANGUAGE="zh-Hans").content.decode()

    assert f'action="{reverse("set_language")}"' in english
    assert '<option value="en" lang="en" selected>English</option>' in english
    assert '<option value="zh-hans" lang="zh-hans">简体中文</option>' in english
    assert '<option value="zh-hans" lang="zh-hans" selected>简体中文</option>' in chinese


def test_switches_a_logged_in_user_to_chinese_and_back_with_the_language_switcher(
    client, manager, project
):
    client.force_login(manager)
    project_list = reverse("annotation:project-list")

    response = client.post(reverse("set_language"), {"language": "zh-hans", "next": project_list})

    assert response.status_code == 302 and response["Location"] == project_list
    assert client.cookies[settings.LANGUAGE_COOKIE_NAME].value == "zh-hans"
    # The choice outranks what the browser sends.
    page = client.get(project_list, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "<h1>项目</h1>" in page

    client.post(reverse("set_language"), {"language": "en", "next": project_list})

    page = client.get(project_list, HTTP_ACCEPT_LANGUAGE="zh-Hans").content.decode()
    assert "<h1>Projects</h1>" in page


def test_switches_the_login_page_to_chinese_before_anyone_logs_in(client):
    client.post(reverse("set_language"), {"language": "zh-hans", "next": reverse("login")})

    assert "<title>登录</title>" in client.get(reverse("login")).content.decode()


def test_keeps_the_language_cookie_away_from_scripts(client):
    client.post(reverse("set_language"), {"language": "zh-hans", "next": "/"})

    cookie = client.cookies[settings.LANGUAGE_COOKIE_NAME]
    assert cookie["httponly"] and cookie["samesite"] == "Lax"


def test_ignores_a_language_the_app_does_not_offer(client):
    # set_language stores any language Django itself has a catalogue for; LocaleMiddleware then
    # falls back to LANGUAGE_CODE for one that is not in LANGUAGES.
    client.post(reverse("set_language"), {"language": "fr", "next": reverse("login")})

    page = client.get(reverse("login"), HTTP_ACCEPT_LANGUAGE="fr").content.decode()
    assert '<html lang="en">' in page and "Log in" in page


def test_refuses_to_redirect_the_language_switch_to_another_site(client):
    response = client.post(
        reverse("set_language"), {"language": "zh-hans", "next": "https://evil.example/"}
    )

    assert response.status_code == 302 and response["Location"] == "/"


def test_refuses_to_change_the_language_on_a_get_request(client):
    response = client.get(reverse("set_language"), {"language": "zh-hans", "next": "/"})

    assert response.status_code == 405
    assert settings.LANGUAGE_COOKIE_NAME not in client.cookies


def test_translates_a_pre_annotation_error_stored_in_english_when_it_is_shown(
    client, manager, project
):
    from common.jobs.models import JobStatus
    from training.models import PreannotationJob

    PreannotationJob.objects.create(
        project=project,
        requested_by=manager,
        status=JobStatus.FAILED,
        error="The project has no labels yet; add labels before requesting pre-annotation.",
    )
    client.force_login(manager)

    # Pre-annotation's card is in the project page's Models section.
    page = client.get(
        reverse("annotation:project-detail", args=[project.pk]) + "?section=models",
        HTTP_ACCEPT_LANGUAGE="zh-Hans",
    )

    assert "此项目还没有标签；请先添加标签再发起预标注。" in page.content.decode()


# --- the catalogue -------------------------------------------------------------------------


def test_declares_the_chinese_catalogue_with_a_single_plural_form():
    po = _catalogue()

    assert po.metadata.get("Language") == "zh_Hans"
    assert po.metadata.get("Plural-Forms") == "nplurals=1; plural=0;"
    assert "charset=UTF-8" in po.metadata.get("Content-Type", "")
    assert not po.metadata_is_fuzzy, (
        f"The header of {PO_PATH} is marked fuzzy; msgfmt would drop it."
    )


def test_translates_every_message_into_chinese():
    entries = _live_entries(_catalogue())
    untranslated = [_where(e) for e in entries if not all(s.strip() for s in _translations(e))]
    fuzzy = [_where(e) for e in entries if "fuzzy" in e.flags]
    plural_forms = [_where(e) for e in entries if e.msgid_plural and sorted(e.msgstr_plural) != [0]]

    assert entries, f"{PO_PATH} holds no messages; {FIX}."
    assert not untranslated, f"Messages without a translation in {PO_PATH}:\n" + "\n".join(
        untranslated
    )
    assert not fuzzy, (
        f"Fuzzy (guessed) translations in {PO_PATH}; check each and remove its '#, fuzzy' line:\n"
        + "\n".join(fuzzy)
    )
    assert not plural_forms, (
        "Chinese has one plural form: give these exactly one msgstr[0]:\n" + "\n".join(plural_forms)
    )


def test_keeps_every_placeholder_and_tag_of_the_english_message():
    wrong = []
    for entry in _live_entries(_catalogue()):
        # Chinese uses its one form for every count, so it must carry the plural's placeholders.
        source = entry.msgid_plural or entry.msgid
        for translation in _translations(entry):
            if not translation:
                continue
            for pattern in (PLACEHOLDER, MARKUP):
                expected, found = (
                    sorted(pattern.findall(source)),
                    sorted(pattern.findall(translation)),
                )
                if expected != found:
                    wrong.append(
                        f"{entry.msgid!r}: expected {expected}, the translation has {found}"
                    )
    assert not wrong, (
        f"Translations in {PO_PATH} that lose or add placeholders or tags:\n" + "\n".join(wrong)
    )


def test_ships_a_compiled_catalogue_that_matches_the_translations():
    assert MO_PATH.exists(), f"{MO_PATH} is missing; {FIX}."
    compiled = {
        (e.msgctxt, e.msgid): _translations(e) for e in polib.mofile(str(MO_PATH)) if e.msgid
    }
    source = {
        (e.msgctxt, e.msgid): _translations(e)
        for e in _live_entries(_catalogue())
        if "fuzzy" not in e.flags and all(_translations(e))
    }

    stale = sorted(
        repr(key[1])
        for key in source.keys() | compiled.keys()
        if source.get(key) != compiled.get(key)
    )
    assert not stale, f"{MO_PATH} is older than {PO_PATH} for these messages; {FIX}:\n" + "\n".join(
        stale
    )


def test_the_catalogue_holds_every_translatable_string_of_the_code(tmp_path):
    """Runs `make messages` on a copy of the project and compares its catalogue with the real one."""
    for tool in ("make", "xgettext", "msgmerge", "msgfmt"):
        assert shutil.which(tool), (
            f"{tool} is not installed; it is needed to extract messages (Debian packages 'make' and "
            "'gettext': apt-get install make gettext)."
        )
    copy = tmp_path / "project"
    shutil.copytree(
        ROOT,
        copy,
        ignore=lambda directory, names: [
            name
            for name in names
            if (Path(directory) == ROOT and (name in NOT_COPIED or name.endswith(".egg-info")))
            or name in ("__pycache__", ".pytest_cache")
        ],
    )
    env = {key: os.environ[key] for key in ("PATH", "HOME", "LANG") if key in os.environ}
    env["DATA_DIR"] = str(tmp_path / "data")
    result = subprocess.run(
        ["make", "--no-print-directory", "messages", f"BIN={Path(sys.executable).parent}"],
        check=False,
        cwd=copy,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, (
        f"make messages failed:\nstdout:\n{result.stdout}\nstderr:\n{result.stderr}"
    )

    extracted = {
        (e.msgctxt, e.msgid): e
        for e in _live_entries(polib.pofile(str(copy / PO_PATH.relative_to(ROOT))))
    }
    current = {(e.msgctxt, e.msgid) for e in _live_entries(_catalogue())}
    missing = [_where(extracted[key]) for key in sorted(extracted.keys() - current, key=str)]
    gone = sorted(repr(msgid) for _context, msgid in current - extracted.keys())
    assert not missing, (
        f"Translatable strings in the code that {PO_PATH} lacks; {FIX}:\n" + "\n".join(missing)
    )
    assert not gone, f"{PO_PATH} holds strings no longer in the code; {FIX}:\n" + "\n".join(gone)


# --- strings shown from model choices, enums and form choices --------------------------------

# The apps whose choices reach the pages (modules named "<app>." or "<app>.something").
PROJECT_APPS = ("common", "projects", "annotation", "governance", "training", "config")


def _is_project_module(module: str) -> bool:
    return module.split(".")[0] in PROJECT_APPS


def _subclasses(cls) -> list[type]:
    found = []
    for sub in cls.__subclasses__():
        found += [sub, *_subclasses(sub)]
    return found


def _choice_labels() -> list[tuple[str, object, object]]:
    """(where, value, label) of every choice a page can show: the project's Choices enums, the
    choices of its models' fields, and the fixed choices of its forms' choice fields."""
    from django import forms
    from django.apps import apps
    from django.db import models
    from django.urls import get_resolver

    get_resolver().url_patterns  # imports every view module, and with them every form
    labels = []
    for enum in _subclasses(models.Choices):
        if _is_project_module(enum.__module__):
            labels += [(f"{enum.__module__}.{enum.__qualname__}", m.value, m.label) for m in enum]
    for model in apps.get_models():
        if not _is_project_module(model.__module__):
            continue
        for field in model._meta.get_fields():
            for value, label in getattr(field, "flatchoices", None) or []:
                labels.append((f"{model._meta.label}.{field.name}", value, label))
    for form in _subclasses(forms.BaseForm):
        if not _is_project_module(form.__module__):
            continue
        for name, field in form.base_fields.items():
            if isinstance(field, forms.ChoiceField) and not isinstance(field, forms.ModelChoiceField):
                for value, label in field.choices:
                    labels.append((f"{form.__module__}.{form.__qualname__}.{name}", value, label))
    return labels


def test_finds_the_choices_shown_from_models_enums_and_forms():
    where = {place for place, _value, _label in _choice_labels()}
    assert "projects.models.TaskType" in where
    assert "annotation.ImportJob.on_error" in where
    assert "annotation.forms.ImportPolicyForm.pii_policy" in where


def test_marks_every_choice_label_for_translation():
    """A label written as a plain string is never extracted, so pages show it in English."""
    from django.utils.functional import Promise

    # Plain labels that only restate their value (NFC, JSONL, a label's own name) are not prose.
    unmarked = sorted(
        f"{place}: {value!r} -> {label!r}"
        for place, value, label in _choice_labels()
        if not isinstance(label, Promise) and str(label).lower() != str(value).lower()
    )
    assert not unmarked, (
        "Choice labels not marked for translation; write them as gettext_lazy('...') (imported as _) "
        f"and {FIX}:\n" + "\n".join(unmarked)
    )


def test_translates_every_choice_label_into_chinese():
    from django.utils.functional import Promise
    from django.utils.translation import override

    catalogue = {
        (entry.msgctxt, entry.msgid): entry
        for entry in _live_entries(_catalogue())
        if not entry.msgid_plural
    }
    missing = set()
    for place, _value, label in _choice_labels():
        if not isinstance(label, Promise):
            continue
        # A pgettext_lazy label keeps (context, message) as its arguments: look it up under its context.
        args = getattr(label, "_args", ())
        if len(args) == 2 and all(isinstance(arg, str) for arg in args):
            context, msgid = args
        else:
            with override("en"):
                context, msgid = None, str(label)
        entry = catalogue.get((context, msgid))
        if entry is None or not entry.msgstr.strip() or "fuzzy" in entry.flags:
            missing.add(f"{place}: {msgid!r}")
    assert not missing, f"Choice labels without a Chinese translation in {PO_PATH}; {FIX}:\n" + "\n".join(
        sorted(missing)
    )


def test_shows_task_types_review_and_personal_data_policies_and_bad_row_handling_in_chinese(
    client, manager, project
):
    from django.utils.translation import gettext, override

    from annotation.models import ImportOnError
    from projects.models import PiiPolicy, ReviewPolicy, TaskType

    client.force_login(manager)
    pages = "".join(
        client.get(url, HTTP_ACCEPT_LANGUAGE="zh-Hans").content.decode()
        for url in (
            reverse("annotation:project-list"),
            # The review policy is among the Settings section's settings.
            reverse("annotation:project-detail", args=[project.pk]) + "?section=settings",
            reverse("annotation:imports", args=[project.pk]),
        )
    )
    shown = [TaskType.SINGLE_LABEL, ReviewPolicy.ALL, PiiPolicy.MASK, ImportOnError.SKIP]
    for choice in shown:
        with override("en"):
            english = str(choice.label)
        with override("zh-hans"):
            translated = gettext(english)
        assert translated != english, f"{english!r} has no Chinese translation"
        assert translated in pages, f"{translated!r} ({english!r}) is not on the Chinese pages"
        assert english not in pages, f"{english!r} is still shown in English on the Chinese pages"
