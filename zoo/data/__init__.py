"""Where images come from: the seeded captcha stream, your folders, other generators, augmentation, image fitting."""
