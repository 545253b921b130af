/** English: the Settings dialog. */
export const settings = {
  title: 'Settings',
  language: 'Language',
  languageHelp: 'Dates, sizes and numbers follow it too. Messages from the engine and servers stay in English.',
  downloadDir: 'Download folder',
  downloadHelpBrowser:
    'A folder on the computer running Ferry’s browser host, inside the download folder it was started with. Downloads land there, each file checked end to end.',
  downloadHelp: 'A folder on this computer. Downloads land there, each file checked end to end.',
  concurrency: 'Transfers at once',
  concurrencyProblem: 'Transfers at once is a whole number from 1 to 16.',
  downloadProblem: 'Enter the folder downloads go to.',
  notSaved: 'The settings could not be saved.',
} as const;
