"""The names a config's `data.source` may take (what each draws lives beside: zoo.data.stream,
zoo.data.pil_captchas, zoo.data.folder_data). A leaf: configuration reads these names without
importing any generator."""

CAPTCHA = "captcha"  # the `captcha` package's seeded stream: the reference problem
PIL_PREFIX = "pil:"  # "pil:STYLE": an endless seeded stream of zoo.data.pil_captchas' drawings
PIL_STYLES = ("plain", "distorted", "website", "website-cm", "captcha", "wide", "wide-hollow", "mix", "mix-hollow", "mix-varied")
