"""The sandbox's sample workspace: the people of one escalation, and the CSCP team's channel."""

from bot.standin.server import StandinUser

CSCP_CHANNEL = "C0CSCPTEAM"
CSCP_CHANNEL_NAME = "cscp-escalations"

PEOPLE = [
    StandinUser(
        "U01SCHOOLDSL", "Priya Shah", "priya.shah@school.example", "Designated safeguarding lead, primary school"
    ),
    StandinUser("U02MASHSW", "Tom Reid", "tom.reid@mash.example", "Social worker, MASH"),
    StandinUser("U03HEAD", "Grace Okafor", "grace.okafor@school.example", "Headteacher (the DSL's line manager)"),
    StandinUser("U04MASHTM", "Dan Hughes", "dan.hughes@mash.example", "MASH team manager"),
    StandinUser("U05SERVICE", "Maria Costa", "maria.costa@croydon.example", "Service manager, Children's Social Care"),
    StandinUser("U06CSCP", "Sam Patel", "sam.patel@cscp.example", "CSCP business unit"),
    StandinUser("U07MASHSM", "Ola Bello", "ola.bello@mash.example", "Service manager, MASH"),
    StandinUser("U08EXEC", "Ruth Evans", "ruth.evans@cscp.example", "Chair, CSCP Executive Group"),
]
CSCP_MEMBERS = ["U06CSCP"]
# Who holds Stage 5, as the deployment sets it up.
CSCP_EXECUTIVE = ["U08EXEC"]
# Someone outside Slack, to name in the form's name-and-e-mail fields: the bot e-mails them, and the page's
# e-mail inbox shows what arrived. nhs.net is a secure mail domain, so their e-mails carry the case's details.
EMAIL_ONLY = [("Dr Gita Rao", "gita.rao@nhs.net", "GP at a Croydon surgery, not in Slack")]
