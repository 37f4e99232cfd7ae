"""The people: students, classes, teachers, guardians, admins, WeChat users (mini-program and
official-account followers), linked accounts, sign-in tokens and how names are shown."""
